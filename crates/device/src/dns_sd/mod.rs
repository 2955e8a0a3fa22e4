//! DNS-SD: the emulated printers announced on the network as IPP Everywhere printers
//! (`printlab up --dns-sd`), so a desktop or phone finds them as it finds real ones.

mod responder;
mod txt_record;

pub use responder::{AdvertisedPrinter, DnsSdError, DnsSdResponder};
pub use txt_record::txt_record;
