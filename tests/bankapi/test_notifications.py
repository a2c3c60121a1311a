def test_unread_filter_count_and_mark_read(alice):
    alice.topup(1_00)
    body = alice.get("/notifications").json
    assert body["unread_count"] == 2 and len(body["notifications"]) == 2
    first = body["notifications"][0]["id"]
    response = alice.post(f"/notifications/{first}/read")
    assert response.status_code == 200 and response.json["read"] is True
    unread = alice.get("/notifications?unread=true").json
    assert unread["unread_count"] == 1
    assert [n["id"] for n in unread["notifications"]] != [first]


def test_read_all(alice):
    alice.topup(1_00)
    assert alice.post("/notifications/read-all").json == {"updated": 2}
    assert alice.get("/notifications").json["unread_count"] == 0
    assert alice.post("/notifications/read-all").json == {"updated": 0}


def test_pagination(alice):
    for _ in range(4):
        alice.topup(1_00)
    page = alice.get("/notifications?limit=3").json
    assert len(page["notifications"]) == 3 and page["next_cursor"]
    rest = alice.get(f"/notifications?limit=3&cursor={page['next_cursor']}").json
    assert len(rest["notifications"]) == 2 and rest["next_cursor"] is None


def test_unknown_notification_is_404(alice):
    assert alice.post("/notifications/ntf_nope/read").status_code == 404
