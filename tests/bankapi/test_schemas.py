"""PlainDump answers exactly what the schema it is derived from would."""
from datetime import datetime

import pytest

from bankapi.web.schemas import PaymentOut, PlainDump, TopupOut, TransferOut

CREATED = datetime(2026, 11, 23, 9, 30, 5, 123456)


@pytest.mark.parametrize("schema, row", [
    (PaymentOut, {"id": "pay_1", "user_id": "user_1", "account_id": "acc_1", "amount": 4_50,
                  "currency": "GBP", "merchant": "Pret", "category": "eating_out",
                  "status": "completed", "created": CREATED}),
    (TransferOut, {"id": "tfr_1", "user_id": "user_1", "from_account_id": "acc_1",
                   "to_account_id": "acc_2", "amount": 1_00, "currency": "GBP",
                   "reference": "", "status": "completed", "created": CREATED}),
    (TransferOut, {"id": "tfr_1", "user_id": "user_1", "from_account_id": "acc_1",
                   "to_account_id": "acc_2", "amount": 1_00, "currency": "GBP",
                   "reference": "rent", "status": "completed", "created": None}),
])
def test_plain_dump_is_the_schemas_dump_key_for_key_in_order(schema, row):
    plain, dumped = PlainDump(schema)(row), schema().dump(row)
    assert plain == dumped and list(plain) == list(dumped)
    assert "user_id" not in plain


def test_a_nested_schema_is_refused():
    with pytest.raises(TypeError):
        PlainDump(TopupOut)
