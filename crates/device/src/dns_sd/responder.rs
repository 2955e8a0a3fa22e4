//! The mDNS responder that makes the emulated printers show up in a desktop's printer list,
//! as IPP Everywhere printers do: one `_ipp._tcp` service per printer with the `_print` subtype
//! (PWG 5100.14 §4.2), all pointing at the fleet's one IPP listener.
//!
//! Printers are advertised only where the listener can be reached: on the loopback interface
//! for a loopback listener, on the interface of a specific address, on every IPv4 (or every)
//! interface for an unspecified one. So `--dns-sd` on a lab bound to 127.0.0.1 never announces
//! printers nobody on the network could reach.
//!
//! `mdns-sd` is the responder: a maintained, pure-Rust implementation (RFC 6762 probing,
//! announcements, goodbyes, known-answer suppression) with no runtime of its own to clash
//! with tokio; writing our own would repeat all of that.

use super::txt_record::txt_record;
use mdns_sd::{IfKind, ServiceDaemon, ServiceInfo};
use printlab_ipp::Attribute;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

/// IPP Everywhere printers register `_ipp._tcp` with the `_print` subtype, which is how a
/// client browsing for driverless printers tells them from other IPP services.
const SERVICE_TYPE: &str = "_print._sub._ipp._tcp.local.";

/// A DNS label is at most 63 bytes (RFC 6763 §4.1.1).
const INSTANCE_NAME_MAX: usize = 63;

/// How long a shutdown waits for each goodbye to go out.
const GOODBYE_WAIT: Duration = Duration::from_secs(1);

/// One printer to announce: its name (the service instance people see), the path of its URI
/// on the listener, and its IPP printer description (the TXT record is read from it).
#[derive(Debug, Clone)]
pub struct AdvertisedPrinter {
    pub name: String,
    pub resource_path: String,
    pub attributes: Vec<Attribute>,
}

#[derive(Debug, thiserror::Error)]
pub enum DnsSdError {
    #[error("cannot start the mDNS responder: {0}")]
    Start(mdns_sd::Error),
    #[error("cannot advertise printer {printer:?} over DNS-SD: {source}")]
    Advertise {
        printer: String,
        source: mdns_sd::Error,
    },
}

/// The running responder; [`DnsSdResponder::shutdown`] sends the goodbyes that take the
/// printers off the clients' lists at once rather than when their records expire.
pub struct DnsSdResponder {
    daemon: ServiceDaemon,
    services: Vec<String>,
}

impl DnsSdResponder {
    /// Announces every printer at `listen` (the IPP listener's bound address).
    pub fn start(listen: SocketAddr, printers: &[AdvertisedPrinter]) -> Result<Self, DnsSdError> {
        let daemon = ServiceDaemon::new().map_err(DnsSdError::Start)?;
        daemon
            .disable_interface(IfKind::All)
            .and_then(|()| daemon.enable_interface(interfaces_for(listen.ip())))
            .map_err(DnsSdError::Start)?;
        let host = host_name();
        let mut services = Vec::with_capacity(printers.len());
        for printer in printers {
            let failed = |source| DnsSdError::Advertise {
                printer: printer.name.clone(),
                source,
            };
            let txt = txt_record(&printer.resource_path, &printer.attributes);
            let address = if listen.ip().is_unspecified() {
                String::new()
            } else {
                listen.ip().to_string()
            };
            let mut info = ServiceInfo::new(
                SERVICE_TYPE,
                &instance_name(&printer.name),
                &host,
                address.as_str(),
                listen.port(),
                txt.as_slice(),
            )
            .map_err(failed)?;
            if listen.ip().is_unspecified() {
                info = info.enable_addr_auto();
            }
            services.push(info.get_fullname().to_owned());
            daemon.register(info).map_err(failed)?;
            tracing::info!(printer = %printer.name, %listen, "advertised over DNS-SD");
        }
        Ok(Self { daemon, services })
    }

    /// The full service names announced (`Office Laser 2F._ipp._tcp.local.`).
    pub fn services(&self) -> &[String] {
        &self.services
    }

    /// Sends each printer's goodbye, then stops the responder.
    pub fn shutdown(self) {
        for service in &self.services {
            if let Ok(done) = self.daemon.unregister(service) {
                let _ = done.recv_timeout(GOODBYE_WAIT);
            }
        }
        if let Ok(done) = self.daemon.shutdown() {
            let _ = done.recv_timeout(GOODBYE_WAIT);
        }
    }
}

fn interfaces_for(ip: IpAddr) -> IfKind {
    match ip {
        IpAddr::V4(v4) if v4.is_unspecified() => IfKind::IPv4,
        IpAddr::V6(v6) if v6.is_unspecified() => IfKind::All,
        IpAddr::V4(v4) if v4.is_loopback() => IfKind::LoopbackV4,
        IpAddr::V6(v6) if v6.is_loopback() => IfKind::LoopbackV6,
        specific => IfKind::Addr(specific),
    }
}

/// The printer's name, cut at a character boundary to fit one DNS label.
fn instance_name(name: &str) -> String {
    let mut end = name.len().min(INSTANCE_NAME_MAX);
    while !name.is_char_boundary(end) {
        end -= 1;
    }
    name[..end].to_owned()
}

/// `printlab-<machine>.local.`: the A records' name, distinct per machine so that two labs on
/// one network do not answer for each other's address.
fn host_name() -> String {
    let machine = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
    let label: String = machine
        .trim()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .take(INSTANCE_NAME_MAX - "printlab-".len())
        .collect();
    if label.is_empty() {
        "printlab.local.".to_owned()
    } else {
        format!("printlab-{label}.local.")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_names_are_cut_to_one_label_at_a_character_boundary() {
        let name = "é".repeat(40);
        let cut = instance_name(&name);
        assert!(cut.len() <= INSTANCE_NAME_MAX);
        assert_eq!(cut, "é".repeat(31));
        assert_eq!(instance_name("Office Laser 2F"), "Office Laser 2F");
    }

    #[test]
    fn printers_are_announced_only_where_the_listener_is() {
        let kind = |ip: &str| format!("{:?}", interfaces_for(ip.parse().unwrap()));
        assert_eq!(kind("127.0.0.1"), "LoopbackV4");
        assert_eq!(kind("0.0.0.0"), "IPv4");
        assert_eq!(kind("::"), "All");
        assert_eq!(kind("192.0.2.7"), "Addr(192.0.2.7)");
    }

    #[test]
    fn the_host_name_is_one_local_label() {
        let host = host_name();
        assert!(host.starts_with("printlab") && host.ends_with(".local."));
        assert_eq!(host.matches('.').count(), 2, "{host}");
    }
}
