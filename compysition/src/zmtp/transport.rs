//! Endpoints and listeners of the ZMTP sockets: only `tcp://host:port` (no `inproc` or `ipc`).
//!
//! - [`bind_tcp`] binds a listener synchronously, so that an actor can report a bad address or
//!   a taken port when it is built and a test can bind port 0 and read the port back (the
//!   listening side then runs on our [`Router`](super::router::Router));
//! - the connecting side runs on our own [`Dealer`](super::dealer::Dealer): one TCP
//!   connection, made anew for every new logical connection; [`check_connect_endpoint`] lets a
//!   builder refuse a bad endpoint before anything connects.

use std::net::{TcpListener, ToSocketAddrs};

use crate::error::Error;

/// Binds a TCP listener for a `tcp://host:port` endpoint (`*` as host means every interface)
/// and returns it with the endpoint it is bound to (the port resolved when `0` was asked).
pub(crate) fn bind_tcp(endpoint: &str) -> Result<(TcpListener, String), Error> {
    let address = tcp_address(endpoint)?;
    let address = match address.strip_prefix("*:") {
        Some(port) => format!("0.0.0.0:{port}"),
        None => address.to_string(),
    };
    let invalid = |reason: String| Error::InvalidAddress {
        address: endpoint.to_string(),
        reason,
    };
    let resolved = address
        .to_socket_addrs()
        .map_err(|error| invalid(error.to_string()))?
        .next()
        .ok_or_else(|| invalid("resolves to no address".to_string()))?;
    let bind_failed = |source| Error::Bind {
        address: endpoint.to_string(),
        source,
    };
    let listener = TcpListener::bind(resolved).map_err(bind_failed)?;
    let local = listener.local_addr().map_err(bind_failed)?;
    Ok((listener, format!("tcp://{local}")))
}

/// The `host:port` of a `tcp://host:port` endpoint (the only transport the sockets speak).
pub(crate) fn tcp_address(endpoint: &str) -> Result<&str, Error> {
    endpoint
        .strip_prefix("tcp://")
        .filter(|address| {
            address
                .rsplit_once(':')
                .is_some_and(|(_, port)| port.parse::<u16>().is_ok())
        })
        .ok_or_else(|| Error::InvalidAddress {
            address: endpoint.to_string(),
            reason: "only tcp://host:port endpoints are supported".to_string(),
        })
}

/// Checks that an endpoint to connect to has the form `tcp://host:port`.
pub(crate) fn check_connect_endpoint(endpoint: &str) -> Result<(), Error> {
    tcp_address(endpoint).map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn port_zero_resolves_to_the_bound_port() {
        let (listener, endpoint) = bind_tcp("tcp://127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("bound").port();
        assert_ne!(port, 0);
        assert_eq!(endpoint, format!("tcp://127.0.0.1:{port}"));
    }

    #[test]
    fn only_tcp_endpoints_are_accepted() {
        let error = bind_tcp("ipc:///tmp/x").expect_err("not tcp");
        assert!(
            matches!(&error, Error::InvalidAddress { address, .. } if address == "ipc:///tmp/x"),
            "{error:?}"
        );
        assert!(error.to_string().contains("only tcp://"), "{error}");
        assert!(check_connect_endpoint("tcp://localhost:5555").is_ok());
        assert!(check_connect_endpoint("tcp://localhost").is_err());
        assert!(check_connect_endpoint("inproc://x").is_err());
    }

    #[test]
    fn a_taken_port_is_a_bind_error_with_the_address_and_the_cause() {
        let (_held, endpoint) = bind_tcp("tcp://127.0.0.1:0").expect("bind");
        let error = bind_tcp(&endpoint).expect_err("port taken");
        match &error {
            Error::Bind { address, source } => {
                assert_eq!(address, &endpoint);
                assert_eq!(source.kind(), std::io::ErrorKind::AddrInUse);
            }
            other => panic!("not a bind error: {other:?}"),
        }
        assert!(error.to_string().contains("cannot bind"), "{error}");
    }
}
