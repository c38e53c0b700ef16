//! The demo page and the package.

use reqwest::StatusCode;

use crate::harness::Server;

#[tokio::test]
async fn serves_the_static_dir_and_the_package() {
    let server = Server::default().await;
    let page = server.get("/").await;
    assert_eq!(page.status(), StatusCode::OK);
    assert!(page.text().await.expect("body").contains("fixture"));
    let wasm = server.get("/pkg/realtime_wasm_bg.wasm").await;
    assert_eq!(wasm.status(), StatusCode::OK);
    assert_eq!(wasm.headers()["content-type"], "application/wasm");
    assert_eq!(server.get("/nope.js").await.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        server.get("/pkg/nope.js").await.status(),
        StatusCode::NOT_FOUND
    );
}
