use evloop::io::{AsyncReadExt, AsyncWriteExt};
use std::time::{Duration, Instant};

#[test]
fn smoke() {
    let rt = evloop::Runtime::new().unwrap();
    let out = rt.block_on(async {
        let h = evloop::spawn(async { 40 + 2 });
        let t0 = Instant::now();
        evloop::time::sleep(Duration::from_millis(30)).await;
        assert!(t0.elapsed() >= Duration::from_millis(30));
        let listener = evloop::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = evloop::spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            let mut buf = [0u8; 4096];
            loop {
                let n = s.read(&mut buf).await.unwrap();
                if n == 0 { break; }
                s.write_all(&buf[..n]).await.unwrap();
            }
            s.shutdown().await.unwrap();
        });
        let mut c = evloop::net::TcpStream::connect(addr).await.unwrap();
        let data: Vec<u8> = (0..100_000u32).map(|i| i as u8).collect();
        let (mut r, mut w) = c.split();
        let (wr, rd) = (async { w.write_all(&data).await.unwrap(); w.shutdown().await.unwrap(); }, async { let mut v = Vec::new(); r.read_to_end(&mut v).await.unwrap(); v });
        let wr = std::pin::pin!(wr);
        // crude join
        let mut wr = Some(wr);
        let mut rd = std::pin::pin!(rd);
        let got = std::future::poll_fn(|cx| {
            if let Some(w) = wr.as_mut() { if w.as_mut().poll(cx).is_ready() { wr = None; } }
            rd.as_mut().poll(cx)
        }).await;
        assert_eq!(got, data);
        server.await.unwrap();
        h.await.unwrap()
    });
    assert_eq!(out, 42);
    assert_eq!(rt.metrics().live_tasks, 0);
}
