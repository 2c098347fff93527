//! `GammaClient` against canned raw HTTP answers, for what the emulator does
//! not do: custom reason phrases (where the vendor puts its error reasons),
//! oversized and malformed answers, and mixed number/string extension lists.

use ringside_core::{ErrorKind, PbxControl, Sensitive};
use ringside_gamma::GammaClient;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// Serve one connection with `response`; the task returns the request head.
async fn serve_once(response: Vec<u8>) -> (GammaClient, JoinHandle<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}/vtcrm/api", listener.local_addr().unwrap());
    let task = tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.unwrap();
        let mut seen = Vec::new();
        let mut buf = [0u8; 4096];
        while !seen.windows(4).any(|w| w == b"\r\n\r\n") {
            let n = socket.read(&mut buf).await.unwrap();
            if n == 0 {
                break;
            }
            seen.extend_from_slice(&buf[..n]);
        }
        // Ignore a client that hangs up early (oversized answers).
        let _ = socket.write_all(&response).await;
        let _ = socket.shutdown().await;
        String::from_utf8_lossy(&seen).into_owned()
    });
    let client =
        GammaClient::new(&base, Sensitive::new("83isocjid5hyd02sdjiembslw323".into())).unwrap();
    (client, task)
}

fn answer(status_line: &str, extra_headers: &str, body: &str) -> Vec<u8> {
    format!(
        "HTTP/1.1 {status_line}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n{extra_headers}\r\n{body}",
        body.len()
    )
    .into_bytes()
}

#[tokio::test]
async fn the_reason_phrase_explains_a_400() {
    let (client, request) = serve_once(answer("400 Extension 999 does not exist", "", "{}")).await;
    let err = client.dial("999", "647460197", "rs-1").await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Invalid);
    assert_eq!(
        err.message,
        "call: the PBX refused the request as invalid (400): Extension 999 does not exist"
    );
    let head = request.await.unwrap();
    assert!(
        head.starts_with("POST /vtcrm/api/call HTTP/1.1\r\n"),
        "{head}"
    );
    let lower = head.to_ascii_lowercase();
    assert!(
        lower.contains("authorization: vtcrm-basic 83isocjid5hyd02sdjiembslw323\r\n"),
        "{head}"
    );
    assert!(
        lower.contains("content-type: application/json\r\n"),
        "{head}"
    );
}

#[tokio::test]
async fn canonical_reasons_fall_back_to_the_body() {
    let (client, _) = serve_once(answer("404 Not Found", "", "no such method")).await;
    let err = client.extension_list().await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::NotFound);
    assert!(
        err.message.ends_with("(404): no such method"),
        "{}",
        err.message
    );
}

#[tokio::test]
async fn retry_after_is_read_from_a_503() {
    let (client, _) =
        serve_once(answer("503 Service Unavailable", "Retry-After: 30\r\n", "")).await;
    let err = client.hang_up("471900").await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Unavailable);
    assert_eq!(err.retry_after, Some(std::time::Duration::from_secs(30)));
}

#[tokio::test]
async fn extension_numbers_may_be_numbers_or_strings() {
    let (client, _) = serve_once(answer("200 OK", "", r#"[200,"201", 202 ]"#)).await;
    assert_eq!(
        client.extension_list().await.unwrap(),
        ["200", "201", "202"]
    );
    let (client, _) = serve_once(answer(
        "200 OK",
        "",
        r#"[{"extension":"201","name":"Gines Gomez","extra":1},{"extension":9204}]"#,
    ))
    .await;
    let list = client.extension_list_json().await.unwrap();
    assert_eq!(list[0].extension, "201");
    assert_eq!(list[1].extension, "9204");
    assert_eq!(list[1].name, None);
}

#[tokio::test]
async fn unexpected_answers_are_internal_errors() {
    let cases = [
        (answer("200 OK", "", "<html>maintenance</html>"), "not JSON"),
        (
            answer("200 OK", "", r#"{"extensions":[]}"#),
            "not a JSON array",
        ),
        (answer("200 OK", "", "[true]"), "is not a number or string"),
        (
            answer("200 OK", "", &format!("[{}]", "1,".repeat(600_000) + "1")),
            "larger than 1 MiB",
        ),
    ];
    for (response, needle) in cases {
        let (client, _) = serve_once(response).await;
        let err = client.extension_list().await.unwrap_err();
        assert_eq!(err.kind, ErrorKind::Internal, "{}", err.message);
        assert!(err.message.contains(needle), "{}", err.message);
    }
    let (client, _) = serve_once(answer("200 OK", "", r#"[{"name":"x"}]"#)).await;
    let err = client.extension_list_json().await.unwrap_err();
    assert!(
        err.message.contains("has no `extension`"),
        "{}",
        err.message
    );
}
