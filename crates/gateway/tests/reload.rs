//! Configuration reload through the library API: listeners whose address
//! did not change keep their socket, changed ones move, and a reload that
//! cannot bind changes nothing.

use std::path::Path;

use gateway::{Config, Gateway, Pipeline};

fn config(data: &Path, https: &str, admin: &str) -> Config {
    let text = format!(
        "[server]\nhttps = \"{https}\"\nadmin = \"{admin}\"\ndata_dir = \"{}\"\n\n[[site]]\nhosts = [\"localhost\"]\nupstream = \"http://127.0.0.1:9\"\ntls = {{ self_signed = true }}\n",
        data.display()
    );
    Config::parse(&text, "test.toml", Path::new("/")).unwrap()
}

async fn health(addr: std::net::SocketAddr) -> bool {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let Ok(mut tcp) = tokio::net::TcpStream::connect(addr).await else {
        return false;
    };
    let _ = tcp
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await;
    let mut out = String::new();
    let _ = tcp.read_to_string(&mut out).await;
    out.starts_with("HTTP/1.1 200") && out.ends_with("ok\n")
}

#[tokio::test]
async fn reload_moves_only_changed_listeners() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let gw = Gateway::start(
        config(&data, "127.0.0.1:0", "127.0.0.1:0"),
        Pipeline::default().fixed(),
    )
    .await
    .unwrap();
    let before = gw.addresses().await;
    assert!(health(before.admin.unwrap()).await);

    // Same addresses: nothing moves.
    let same = gw
        .reload(config(&data, "127.0.0.1:0", "127.0.0.1:0"))
        .await
        .unwrap();
    assert_eq!(same, before);

    // The admin listener moves; HTTPS keeps its socket.
    let moved = gw
        .reload(config(&data, "127.0.0.1:0", "127.0.0.2:0"))
        .await
        .unwrap();
    assert_eq!(moved.https, before.https);
    let admin = moved.admin.unwrap();
    assert_eq!(admin.ip().to_string(), "127.0.0.2");
    assert!(health(admin).await);
    assert!(
        !health(before.admin.unwrap()).await,
        "the old admin socket is closed"
    );

    // A reload that cannot bind fails and changes nothing.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let busy = taken.local_addr().unwrap().to_string();
    let err = gw
        .reload(config(&data, &busy, "127.0.0.2:0"))
        .await
        .unwrap_err();
    assert!(err.to_string().contains(&busy), "{err}");
    assert_eq!(gw.addresses().await, moved);
    assert!(health(admin).await);

    gw.shutdown().await;
    let events = ops::event_store::EventStore::open(&data.join("events.sqlite")).unwrap();
    let kinds: Vec<String> = events
        .query(&ops::event_store::Query::default())
        .unwrap()
        .into_iter()
        .map(|(_, e)| e.kind.to_string())
        .collect();
    assert_eq!(
        kinds,
        [
            "gateway.started",
            "config.reloaded",
            "config.reloaded",
            "config.reload_failed",
            "gateway.stopped"
        ]
    );
}
