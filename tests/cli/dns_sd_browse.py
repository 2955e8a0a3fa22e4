"""Browse for driverless IPP printers as a desktop does, with python-zeroconf (an independent
mDNS/DNS-SD implementation), and print what was found as JSON: one object per service with its
instance name, port, addresses and TXT record.

Usage: dns_sd_browse.py EXPECTED_COUNT TIMEOUT_SECONDS
Stops as soon as EXPECTED_COUNT services are resolved, or at the timeout.
"""

import json
import sys
import threading
import time

from zeroconf import ServiceBrowser, ServiceListener, Zeroconf

SERVICE_TYPE = "_print._sub._ipp._tcp.local."


class Collector(ServiceListener):
    def __init__(self):
        self.found = {}
        self.lock = threading.Lock()

    def add_service(self, zc, type_, name):
        info = zc.get_service_info(type_, name, timeout=3000)
        if info is None:
            return
        txt = {k.decode(): (v.decode() if v is not None else None) for k, v in info.properties.items()}
        with self.lock:
            self.found[name] = {
                "name": name,
                "port": info.port,
                "addresses": info.parsed_addresses(),
                "server": info.server,
                "txt": txt,
            }

    def update_service(self, zc, type_, name):
        self.add_service(zc, type_, name)

    def remove_service(self, zc, type_, name):
        with self.lock:
            self.found.pop(name, None)


def main():
    expected, timeout = int(sys.argv[1]), float(sys.argv[2])
    zc = Zeroconf(interfaces=["127.0.0.1"])
    collector = Collector()
    ServiceBrowser(zc, SERVICE_TYPE, collector)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with collector.lock:
            if len(collector.found) >= expected:
                break
        time.sleep(0.1)
    with collector.lock:
        print(json.dumps(sorted(collector.found.values(), key=lambda s: s["name"])))
    zc.close()


if __name__ == "__main__":
    main()
