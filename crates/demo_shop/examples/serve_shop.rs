//! Run the demo shop alone, without Rampart in front:
//!
//! ```sh
//! cargo run -p demo_shop --example serve_shop -- 127.0.0.1:8080 ./shop-data
//! ```
//!
//! With a third argument `provider`, it also runs the stand-alone
//! simulated payment provider on the next port and charges through it.

use demo_shop::{PaymentProvider, ShopConfig};

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() < 2 || args.len() > 3 || (args.len() == 3 && args[2] != "provider") {
        eprintln!("usage: serve_shop ADDR DATA_DIR [provider]");
        std::process::exit(2);
    }
    let listener = match tokio::net::TcpListener::bind(&args[0]).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("error: cannot listen on {}: {e}", args[0]);
            std::process::exit(2);
        }
    };
    let mut config = ShopConfig::new(&args[1]);
    if args.len() == 3 {
        let mut provider_addr = listener.local_addr().expect("bound address");
        provider_addr.set_port(provider_addr.port() + 1);
        let provider = match tokio::net::TcpListener::bind(provider_addr).await {
            Ok(l) => l,
            Err(e) => {
                eprintln!("error: cannot listen on {provider_addr}: {e}");
                std::process::exit(2);
            }
        };
        tokio::spawn(demo_shop::serve_simulated_provider(provider));
        config.payment_provider = PaymentProvider::Remote {
            url: format!("http://{provider_addr}/v1/charges"),
            proxy: None,
            ca_file: None,
        };
        println!("simulated payment provider on http://{provider_addr}/v1/charges");
    }
    println!("Ember & Leaf on http://{}", args[0]);
    println!(
        "customer: {} / {}",
        demo_shop::DEMO_CUSTOMER_EMAIL,
        demo_shop::DEMO_CUSTOMER_PASSWORD
    );
    println!(
        "staff (/admin): {} / {}",
        demo_shop::DEMO_STAFF_USERNAME,
        demo_shop::DEMO_STAFF_PASSWORD
    );
    if let Err(e) = demo_shop::serve(listener, config).await {
        eprintln!("error: {e}");
        std::process::exit(2);
    }
}
