//! The connection's use of the thread's buffer pools.

use std::time::Duration;

use bytes::Bytes;
use swell_frame::{Message, Role};

use super::WebSocket;
use crate::config::Config;
use crate::pool;

/// Receives on `server` until a read finds nothing, so that it goes idle and gives its
/// buffers back to this thread's pool.
async fn go_idle(server: &mut WebSocket<tokio::io::DuplexStream>) {
    let wait = tokio::time::timeout(Duration::from_millis(20), server.recv()).await;
    assert!(wait.is_err(), "nothing more was sent");
}

fn pair(config: Config) -> [WebSocket<tokio::io::DuplexStream>; 2] {
    let (client_io, server_io) = tokio::io::duplex(4 << 20);
    [
        WebSocket::from_raw(client_io, Role::Client, config.clone(), &[]),
        WebSocket::from_raw(server_io, Role::Server, config, &[]),
    ]
}

#[tokio::test(flavor = "current_thread")]
async fn a_large_message_still_held_is_not_kept_alive_by_the_pool() {
    let [mut client, mut server] = pair(Config::default());
    let mut held = Vec::new();
    let mut pooled = 0;
    // How much of its allocation a message leaves behind depends on its size; some
    // sizes leave a tail small enough to look like a buffer worth keeping.
    for size in (100_000..400_000).step_by(13_000) {
        client.send(Message::binary(vec![7; size])).await.unwrap();
        let Some(Ok(Message::Binary(message))) = server.recv().await else {
            panic!("the message");
        };
        go_idle(&mut server).await;
        // The read buffer's tail starts where the message ends, in the same allocation.
        let tail = message.as_ptr().wrapping_add(message.len());
        if pool::read_buffers().contains(&tail) {
            pooled += 1;
        }
        held.push(message);
    }
    assert_eq!(pooled, 0, "tails of held large messages were pooled");
}

#[tokio::test(flavor = "current_thread")]
async fn after_small_messages_the_read_buffer_goes_back_to_the_pool() {
    let [mut client, mut server] = pair(Config::default());
    for _ in 0..3 {
        client.send(Message::binary(vec![1; 100])).await.unwrap();
        let Some(Ok(Message::Binary(small))) = server.recv().await else {
            panic!("the message");
        };
        go_idle(&mut server).await;
        let tail = small.as_ptr().wrapping_add(small.len());
        assert!(
            pool::read_buffers().contains(&tail),
            "kept for the next read"
        );
    }
}

#[tokio::test(flavor = "current_thread")]
async fn automatic_pongs_are_written_from_the_pooled_buffer() {
    let [mut client, mut server] = pair(Config::default());
    // One message each way gives the server a write buffer, too large to keep while idle,
    // and idling gives it back.
    client.send(Message::binary(vec![1; 10])).await.unwrap();
    server.recv().await.unwrap().unwrap();
    server.send(Message::binary(vec![2; 1000])).await.unwrap();
    client.recv().await.unwrap().unwrap();
    go_idle(&mut server).await;
    assert!(!server.conn.transmit().has_buffer());
    let pooled = pool::write_buffers();
    assert_eq!(pooled.len(), 1);
    for _ in 0..3 {
        client
            .send(Message::Ping(Bytes::from_static(b"hi")))
            .await
            .unwrap();
        assert_eq!(
            server.recv().await.unwrap().unwrap(),
            Message::Ping(Bytes::from_static(b"hi"))
        );
        go_idle(&mut server).await;
        assert_eq!(
            client.recv().await.unwrap().unwrap(),
            Message::Pong(Bytes::from_static(b"hi"))
        );
        assert_eq!(
            pool::write_buffers(),
            pooled,
            "the pong took the pooled buffer rather than a new one"
        );
    }
}

#[tokio::test(flavor = "current_thread")]
async fn a_small_write_buffer_stays_with_an_idle_connection_and_a_large_one_is_pooled() {
    let [mut client, mut server] = pair(Config::default());
    for _ in 0..3 {
        client.send(Message::binary(vec![1; 10])).await.unwrap();
        let message = server.recv().await.unwrap().unwrap();
        server.send(message).await.unwrap();
        client.recv().await.unwrap().unwrap();
        go_idle(&mut server).await;
        let transmit = server.conn.transmit();
        assert!(
            transmit.has_buffer(),
            "a ping-pong connection keeps its small buffer"
        );
        assert!(transmit.buffer_capacity() <= super::drive::IDLE_WRITE_BUFFER);
        assert!(pool::write_buffers().is_empty());
    }
    server.send(Message::binary(vec![2; 4000])).await.unwrap();
    client.recv().await.unwrap().unwrap();
    go_idle(&mut server).await;
    assert!(
        !server.conn.transmit().has_buffer(),
        "a large one goes back"
    );
    assert_eq!(pool::write_buffers().len(), 1);
}

#[tokio::test(flavor = "current_thread")]
async fn a_small_view_of_a_large_write_buffer_is_not_kept_while_idle() {
    let [mut client, mut server] = pair(Config::default());
    // A write buffer of 1100 bytes, nearly filled by one frame; the large message after it
    // is shared, and its header splits the buffer, leaving a view of 92 bytes at its end.
    server
        .conn
        .transmit()
        .set_buffer(bytes::BytesMut::with_capacity(1100));
    server.feed(Message::binary(vec![1; 1000])).await.unwrap();
    server.send(Message::binary(vec![2; 5000])).await.unwrap();
    client.recv().await.unwrap().unwrap();
    client.recv().await.unwrap().unwrap();
    go_idle(&mut server).await;
    assert!(
        !server.conn.transmit().has_buffer(),
        "the allocation behind a small view goes back"
    );
    assert_eq!(pool::write_buffers().len(), 1);
}
