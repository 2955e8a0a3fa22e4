//! What the kernel says of a listening port's connections, so a test can count what a server
//! accepted without the server counting for it.

/// How many TCP connections to local `port` are established (server side: the socket whose
/// local port is `port`), over IPv4 and IPv6, as `/proc/net/tcp{,6}` lists them.
pub fn established_connections(port: u16) -> usize {
    ["/proc/net/tcp", "/proc/net/tcp6"]
        .iter()
        .filter_map(|table| std::fs::read_to_string(table).ok())
        .map(|table| {
            table
                .lines()
                .skip(1)
                .filter(|line| {
                    let fields: Vec<&str> = line.split_whitespace().collect();
                    let local_port = fields
                        .get(1)
                        .and_then(|local| local.rsplit_once(':'))
                        .and_then(|(_, hex)| u16::from_str_radix(hex, 16).ok());
                    // State 01 is ESTABLISHED.
                    local_port == Some(port) && fields.get(3) == Some(&"01")
                })
                .count()
        })
        .sum()
}
