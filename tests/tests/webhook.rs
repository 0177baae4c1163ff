//! The SDK's ready push endpoint (`doudian_sdk::webhook`, cargo feature `axum`) served on
//! loopback, receiving the gateway's signed pushes.

use std::time::Duration;

use doudian_gateway::{OrderStatus, RefundEvent, TradeEvent};
use doudian_sdk::push::{sign_push_body, Message, PushEvent, PushVerifier, FAILURE_REPLY, SUCCESS_REPLY};
use doudian_sdk::webhook::push_endpoint;
use doudian_sdk::{AppSecret, SignMethod};
use e2e_tests::gateway;
use tokio::sync::mpsc;

/// Serves `push_endpoint` on 127.0.0.1; every event the application function receives
/// comes out of the channel.
async fn serve(verifier: PushVerifier) -> (String, mpsc::UnboundedReceiver<PushEvent>) {
    let (sender, events) = mpsc::unbounded_channel();
    let on_event = move |event: PushEvent| {
        let sender = sender.clone();
        async move { sender.send(event).map_err(|_| "the test stopped listening") }
    };
    let app = axum::Router::new().route("/doudian/push", push_endpoint(verifier, on_event));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/doudian/push", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, events)
}

async fn next(events: &mut mpsc::UnboundedReceiver<PushEvent>) -> PushEvent {
    tokio::time::timeout(Duration::from_secs(5), events.recv()).await.expect("an event within 5 s").unwrap()
}

/// Gives a dispatch that should not happen the time to show up.
async fn assert_quiet(events: &mut mpsc::UnboundedReceiver<PushEvent>) {
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(events.try_recv().is_err(), "nothing more may be dispatched");
}

#[tokio::test]
async fn gateway_pushes_arrive_typed_once_and_forgeries_dispatch_nothing() {
    let gw = gateway().await;
    let (url, mut events) = serve(PushVerifier::new(gw.app_key(), AppSecret::new(gw.app_secret()))).await;

    // Two typed trade events and one refund event in one push.
    let order_id = gw.order_ids(OrderStatus::AwaitingShipment)[0].clone();
    let paid = gw.trade_event(TradeEvent::Paid, &order_id).unwrap();
    let memo = gw.trade_event(TradeEvent::MemoModified, &order_id).unwrap();
    let refund = gw.refund_event(RefundEvent::Created, gw.after_sale_ids()[0]).unwrap();
    let delivery = gw.send_push(&url, &[paid.clone(), memo.clone(), refund.clone()]).await.unwrap();
    assert_eq!((delivery.status, delivery.body.as_str()), (200, SUCCESS_REPLY));
    let first = next(&mut events).await;
    let PushEvent::Message { tag: 101, ref msg_id, ref message } = first else { panic!("{first:?}") };
    assert_eq!(msg_id, &paid.msg_id);
    let Message::TradePaid(paid_message) = message.as_ref() else { panic!("{message:?}") };
    assert_eq!(paid_message.p_id, Some(order_id.as_str().into()));
    assert!(matches!(next(&mut events).await, PushEvent::Message { tag: 113, .. }));
    assert!(matches!(next(&mut events).await, PushEvent::Message { tag: 200, .. }));

    // The platform redelivers: acknowledged again, dispatched never; a new message in the
    // same push still arrives.
    let shipped = gw.trade_event(TradeEvent::SellerShipped, &order_id).unwrap();
    let delivery = gw.send_push(&url, &[paid.clone(), memo, shipped.clone()]).await.unwrap();
    assert_eq!((delivery.status, delivery.body.as_str()), (200, SUCCESS_REPLY));
    assert_eq!(next(&mut events).await.msg_id(), shipped.msg_id);
    assert_quiet(&mut events).await;

    // A push signed with another secret, and one with no signature: refused, nothing dispatched.
    let fresh = gw.trade_event(TradeEvent::Canceled, &order_id).unwrap();
    let body = doudian_gateway::push_body(std::slice::from_ref(&fresh));
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let forged = sign_push_body(gw.app_key(), "not-the-secret", body.as_bytes(), SignMethod::Md5);
    for sign in [Some(forged), None] {
        let mut request = http.post(&url).header("app-id", gw.app_key()).body(body.clone());
        if let Some(sign) = sign {
            request = request.header("event-sign", sign);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 401);
        assert_eq!(response.text().await.unwrap(), FAILURE_REPLY);
    }
    assert_quiet(&mut events).await;

    // The genuine push of that message afterwards is processed: a refusal remembers nothing.
    let delivery = gw.send_push(&url, std::slice::from_ref(&fresh)).await.unwrap();
    assert_eq!(delivery.status, 200);
    assert_eq!(next(&mut events).await.msg_id(), fresh.msg_id);
    assert_eq!(gw.counters().pushes_delivered, 3);
}

#[tokio::test]
async fn a_message_without_a_published_tag_arrives_typed_once_its_tag_is_registered() {
    let gw = gateway().await;
    let (url, mut events) = serve(PushVerifier::new(gw.app_key(), AppSecret::new(gw.app_secret()))).await;
    // 9100 and 9101 stand for the numbers a console shows; no copy of the SDKs publishes them.
    doudian_sdk::push::register_tag(9100, "btas_sellerSendOrderToSc").unwrap();
    let registered = gw.sample_push("BtasSellerSendOrderToSc", 9100).unwrap();
    let unregistered = gw.sample_push("YuncOrderStatusChange", 9101).unwrap();
    let delivery = gw.send_push(&url, &[registered, unregistered]).await.unwrap();
    assert_eq!((delivery.status, delivery.body.as_str()), (200, SUCCESS_REPLY));

    let typed = next(&mut events).await;
    let PushEvent::Message { tag: 9100, ref message, .. } = typed else { panic!("{typed:?}") };
    let Message::BtasSellerSendOrderToSc(sent) = message.as_ref() else { panic!("{message:?}") };
    assert_eq!(sent.order_code.as_deref(), Some("0654497435"), "the spec's example");
    assert_eq!(message.tag(), None, "the type's tag stays unpublished");

    let unknown = next(&mut events).await;
    let PushEvent::Unknown { ref tag, .. } = unknown else { panic!("{unknown:?}") };
    assert_eq!(tag, "9101");
    // Decoded by name (type or event name) from the unknown event.
    let by_name = unknown.decode_as("yunc_orderStatusChange").unwrap();
    assert!(matches!(by_name, Message::YuncOrderStatusChange(_)), "{by_name:?}");
    assert!(unknown.decode_as("NoSuchMessage").is_err());
    assert!(gw.sample_push("NoSuchMessage", 1).is_none());
}

/// `webhook::serve_with` on 127.0.0.1 with a 1 s header timeout; the endpoint's URL.
async fn serve_with_timeouts(endpoint: doudian_sdk::webhook::PushEndpoint) -> std::net::SocketAddr {
    use doudian_sdk::webhook::{serve_with, ServeOptions};
    let app = axum::Router::new().route("/doudian/push", endpoint.into_method_router());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let options = ServeOptions::default().header_timeout(Duration::from_secs(1));
    tokio::spawn(serve_with(listener, app, options, std::future::pending()));
    address
}

fn quiet_endpoint() -> doudian_sdk::webhook::PushEndpoint {
    let verifier = PushVerifier::new("7012345678901234567", AppSecret::new("s"));
    doudian_sdk::webhook::PushEndpoint::new(verifier, |_event: PushEvent| async { Ok::<_, std::io::Error>(()) })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slowloris_connections_are_closed_by_the_header_timeout() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let address = serve_with_timeouts(quiet_endpoint()).await;
    // 200 connections: half send nothing, half the start of a request and then stall.
    let mut connections = Vec::new();
    for n in 0..200 {
        let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
        if n % 2 == 1 {
            stream.write_all(b"POST /doudian/push HTTP/1.1\r\nHost: x\r\nContent-Le").await.unwrap();
        }
        connections.push(stream);
    }
    // Each is closed by the server (a read sees the end, or a reset), long before the
    // generous bound; with `axum::serve` they would stay open for good.
    let closed = connections.into_iter().map(|mut stream| {
        tokio::spawn(async move {
            let mut buffer = [0u8; 1024];
            loop {
                match tokio::time::timeout(Duration::from_secs(60), stream.read(&mut buffer)).await {
                    Ok(Ok(0)) | Ok(Err(_)) => return true,
                    Ok(Ok(_)) => continue, // an error page before closing
                    Err(_) => return false,
                }
            }
        })
    });
    for connection in closed.collect::<Vec<_>>() {
        assert!(connection.await.unwrap(), "a stalled connection stayed open");
    }
    // The server still answers.
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let reply = http.post(format!("http://{address}/doudian/push")).body("[]").send().await.unwrap();
    assert_eq!((reply.status().as_u16(), reply.text().await.unwrap()), (400, FAILURE_REPLY.to_owned()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bodies_over_the_limit_get_the_failure_json() {
    let address = serve_with_timeouts(quiet_endpoint()).await;
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let url = format!("http://{address}/doudian/push");
    for size in [2 * 1024 * 1024 + 1, 5 * 1024 * 1024] {
        let reply =
            http.post(&url).header("app-id", "7012345678901234567").body(vec![b' '; size]).send().await.unwrap();
        assert_eq!(reply.status(), 413, "{size} bytes");
        assert_eq!(reply.headers()["content-type"], "application/json");
        assert_eq!(reply.text().await.unwrap(), FAILURE_REPLY, "{size} bytes");
    }
    // Exactly the limit is read (and refused as not a push, which it is not).
    let reply =
        http.post(&url).header("app-id", "7012345678901234567").body(vec![b' '; 2 * 1024 * 1024]).send().await.unwrap();
    assert_eq!(reply.status(), 401);
    assert_eq!(reply.text().await.unwrap(), FAILURE_REPLY);
}
