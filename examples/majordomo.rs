//! The Majordomo example of the Python README, in one process: an HTTP request becomes an MDP
//! request through a broker to a worker for `test_service`, whose flow sets the payload to
//! `Hello, this has been a test`; the reply travels back the same way.
//!
//! ```text
//! cargo run --example majordomo
//! curl http://127.0.0.1:7000/test_service
//! Hello, this has been a test
//! ```
//!
//! `COMPYSITION_ADDR` sets the HTTP address (default `127.0.0.1:7000`), `MDP_BROKER` the broker
//! endpoint (default `tcp://127.0.0.1:5555`). The broker, the worker and its `Data` step could
//! each run in a process of their own, on other hosts (see `mdp_broker` and `mdp_worker`).
//! Ctrl-C stops it cleanly.

use compysition::actors::HttpServer;
use compysition::actors::{Data, MdpBroker, MdpClient, MdpWorker, Stdout};
use compysition::mdp::Frames;
use compysition::Director;

#[tokio::main]
async fn main() -> compysition::Result<()> {
    let address =
        std::env::var("COMPYSITION_ADDR").unwrap_or_else(|_| "127.0.0.1:7000".to_string());
    let broker_endpoint =
        std::env::var("MDP_BROKER").unwrap_or_else(|_| "tcp://127.0.0.1:5555".to_string());

    let broker = MdpBroker::bind(&broker_endpoint)?; // this could be its own process
    let endpoint = broker.endpoint().to_string(); // the real port when `MDP_BROKER` asks for 0
    let wsgi = HttpServer::bind(address.as_str())?;
    let listening = wsgi.local_addr();

    let mut director = Director::new();
    let mdp_client = director.register_actor("mdp_client", MdpClient::connect(&endpoint)?);
    director.register_actor("mdp_broker", broker);
    // This (these) would be their own processes.
    let mdp_worker =
        director.register_actor("mdp_worker", MdpWorker::connect(&endpoint, "test_service")?);
    let data = director.register_actor(
        "data",
        Data::new("Hello, this has been a test".to_string()).taking::<Frames>(),
    );
    let wsgi = director.register_actor("wsgi", wsgi);
    director.register_log_actor("stdoutmodule", Stdout::new().timestamp(true));

    director.connect_queue(&wsgi, &mdp_client);
    director.connect_queue(&mdp_worker, &data);
    director.connect_queue(&data, &mdp_worker);
    director.connect_queue(&mdp_client, &wsgi);
    // No worker or no broker: 503; no answer in time: 504.
    director.connect_error_queue(&mdp_client, &wsgi);

    if let Some(listening) = listening {
        println!("listening on http://{listening}/test_service, MDP broker on {endpoint}");
    }
    director.run_until_signal().await
}
