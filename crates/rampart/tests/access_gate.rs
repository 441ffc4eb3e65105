//! The access gate through `rampart serve` alone (no account exists):
//! a protected area answers with the sign-in portal and nothing reaches
//! the store, whatever the path spelling; a client's identity headers
//! never reach it either. (tests/access.rs signs in.)

mod common;

use common::*;

#[tokio::test]
async fn protected_area_fails_closed_without_a_session() {
    let store = Store::start().await;
    let dir = tempfile::tempdir().unwrap();
    let config = config(store.addr, "\n[[site.protect]]\npaths = [\"/admin\"]\n");
    let gw = Rampart::start(dir.path(), &config);
    for path in [
        "/admin",
        "/admin/orders?x=1",
        "/ADMIN/",
        "/shop/../admin",
        "/%61dmin/x",
    ] {
        let r = get(gw.https, "localhost", path).await;
        assert_eq!(r.status(), 401, "{path}");
        let page = String::from_utf8_lossy(r.body()).into_owned();
        assert!(
            page.contains("Staff sign-in") && page.contains("name=\"csrf\""),
            "{page}"
        );
        let cookie = r.headers()["set-cookie"].to_str().unwrap();
        assert!(cookie.starts_with("__Host-rampart_csrf="), "{cookie}");
        assert!(
            cookie.contains("Secure")
                && cookie.contains("HttpOnly")
                && cookie.contains("SameSite=Strict")
        );
    }
    assert!(
        store.received().is_empty(),
        "nothing of the area reached the store"
    );
    let r = get(gw.https, "localhost", "/.rampart/nothing").await;
    assert_eq!(r.status(), 404);

    let mut c = h1_client(gw.https, "localhost").await;
    let req = http::Request::get("/")
        .header("host", "localhost")
        .header("x-rampart-user", "mallory")
        .header("x-rampart-role", "owner")
        .body(empty())
        .unwrap();
    let r = collect(c.send_request(req).await.unwrap()).await;
    assert_eq!(r.status(), 200);
    let got = store.received().pop().unwrap();
    assert!(
        got.headers.get("x-rampart-user").is_none() && got.headers.get("x-rampart-role").is_none()
    );
}
