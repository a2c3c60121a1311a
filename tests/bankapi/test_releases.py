def test_latest_release_is_4_1_3_at_start(client):
    for platform in ("ios", "android"):
        body = client.get(f"/app/releases/latest?platform={platform}").json
        assert body["version"] == "4.1.3"
        assert body["min_supported_version"] == "4.0.0"


def test_platform_from_header(client):
    response = client.get("/app/releases/latest", headers={"X-Platform": "android"})
    assert response.json["version"] == "4.1.3"


def test_publish_release_for_one_platform(client, admin_headers):
    response = client.post("/admin/releases", headers=admin_headers,
                           json={"version": "4.2.0", "platform": "ios", "notes": "New look"})
    assert response.status_code == 201
    assert response.json["version"] == "4.2.0" and response.json["platform"] == "ios"
    assert client.get("/app/releases/latest?platform=ios").json["version"] == "4.2.0"
    assert client.get("/app/releases/latest?platform=android").json["version"] == "4.1.3"


def test_publish_hotfix_raising_min_supported(client, admin_headers):
    client.post("/admin/releases", headers=admin_headers,
                json={"version": "4.2.1", "min_supported_version": "4.2.1"})
    body = client.get("/app/releases/latest?platform=android").json
    assert (body["version"], body["min_supported_version"]) == ("4.2.1", "4.2.1")


def test_bad_release_input(client, admin_headers):
    for body, field in (({"version": "four"}, "version"),
                        ({"version": "4.2.0", "platform": "windows"}, "platform"),
                        ({"version": "4.2.0", "min_supported_version": "x.y"},
                         "min_supported_version")):
        response = client.post("/admin/releases", headers=admin_headers, json=body)
        assert response.status_code == 400
        assert response.json["error"]["field"] == field
    assert client.get("/app/releases/latest?platform=ios").json["version"] == "4.1.3"


def test_missing_platform_is_400(client):
    assert client.get("/app/releases/latest").status_code == 400
