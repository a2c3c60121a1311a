-- wrk script for R3: each request is a new transfer with a fresh Idempotency-Key,
-- spread over the senders listed in the BANKSIM_SENDERS file (token account email per line).
local senders = {}
local counter = 0

function init(args)
  for line in io.lines(os.getenv("BANKSIM_SENDERS")) do
    local token, account, email = line:match("(%S+) (%S+) (%S+)")
    table.insert(senders, {token = token, account = account, email = email})
  end
  math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16))
end

function request()
  counter = counter + 1
  local s = senders[math.random(#senders)]
  local body = string.format(
    '{"from_account_id":"%s","to_email":"%s","amount":1,"currency":"GBP","reference":"bench"}',
    s.account, s.email)
  local headers = {["Authorization"] = "Bearer " .. s.token,
                   ["Content-Type"] = "application/json",
                   ["Idempotency-Key"] = string.format("%d-%d-%d", os.time(), math.random(1e9), counter)}
  return wrk.format("POST", "/transfers", headers, body)
end
