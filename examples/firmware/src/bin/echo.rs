//! The same board and network stack with a plain TCP echo server instead of
//! postwire: the baseline its flash and RAM are measured against.
#![no_std]
#![no_main]

use embassy_executor::Spawner;
use embassy_net::Stack;
use embassy_net::tcp::TcpSocket;
use embedded_io_async::Write;
use panic_halt as _;
use postwire_firmware::board;

const TASKS: usize = 2;

#[embassy_executor::task(pool_size = TASKS)]
async fn echo_task(stack: Stack<'static>) -> ! {
    let mut rx = [0u8; 2048];
    let mut tx = [0u8; 2048];
    let mut buf = [0u8; 1024];
    loop {
        let mut socket = TcpSocket::new(stack, &mut rx, &mut tx);
        if socket.accept(5432).await.is_err() {
            continue;
        }
        while let Ok(n) = socket.read(&mut buf).await {
            if n == 0 || socket.write_all(&buf[..n]).await.is_err() {
                break;
            }
        }
        socket.close();
        socket.abort();
    }
}

#[embassy_executor::main]
async fn main(spawner: Spawner) {
    let (stack, _rng) = board::start(&spawner);
    for _ in 0..TASKS {
        spawner.spawn(echo_task(stack).unwrap());
    }
}
