//! Identify-Printer reaches an emulated printer's front panel both ways a person can send it:
//! to the cloud's printer URI (PWG 5100.18: the cloud keeps it, the device hears of it through
//! `printer-state-changed` or finds it when it subscribes, and collects it with
//! Acknowledge-Identify-Printer), and to the printer's own IPP Everywhere listener (PWG
//! 5100.13). The real cloud, a real device, real IPP clients (ipptool among them).

use super::ipp_everywhere::{fleet, uri_of};
use printlab_device::runtime::{JobOutputs, PrinterHandle, PrinterSnapshot, control_router};
use printlab_ipp::http::{Credentials, post_ipp};
use printlab_ipp::{
    Attribute, AttributeLookup, GroupTag, Limits, Message, Operation, StatusCode, Value,
};
use printlab_testkit_fleet::{ONE_PRINTER, TestFleet, device_cloud, lab_proxy, proxied_printer};
use std::path::Path;
use std::time::Duration;

const CONTROL_TOKEN: &str = "test-control-token";

/// An IPP client of one printer URI.
struct Client {
    /// The HTTP URL requests go to.
    url: String,
    credentials: Credentials,
}

impl Client {
    /// Identify-Printer with `actions` (none: the printer's default) and `message`.
    async fn identify(&self, actions: &[&str], message: &str) -> Message {
        self.send(Operation::IDENTIFY_PRINTER, |op| {
            if !actions.is_empty() {
                op.push(Attribute::set(
                    "identify-actions",
                    actions.iter().map(|a| Value::keyword(*a)),
                ));
            }
            op.push(Attribute::new("message", Value::text(message)));
        })
        .await
    }

    /// The printer's `printer-state-reasons`.
    async fn reasons(&self) -> Vec<String> {
        let answer = self
            .send(Operation::GET_PRINTER_ATTRIBUTES, |op| {
                op.push(Attribute::set(
                    "requested-attributes",
                    [Value::keyword("printer-state-reasons")],
                ));
            })
            .await;
        answer
            .group(GroupTag::PRINTER)
            .and_then(|g| g.attr("printer-state-reasons"))
            .map(|a| a.keywords().map(str::to_owned).collect())
            .unwrap_or_default()
    }

    async fn send(&self, operation: Operation, build: impl FnOnce(&mut Vec<Attribute>)) -> Message {
        let mut request = Message::request(operation, 7);
        let op = &mut request.groups[0].attributes;
        op.push(Attribute::new(
            "printer-uri",
            Value::uri(self.url.replacen("http://", "ipp://", 1)),
        ));
        op.push(Attribute::new("requesting-user-name", Value::name("ada")));
        build(op);
        post_ipp(
            &reqwest::Client::new(),
            &self.url,
            &self.credentials,
            &request,
            None,
            &Limits::default(),
        )
        .await
        .unwrap()
        .message
    }
}

/// Waits (at most 30 s) until the printer's front panel shows `message`.
async fn shown(printer: &PrinterHandle, message: &str) -> PrinterSnapshot {
    let wanted = |s: &PrinterSnapshot| {
        (s.identified.as_ref()).is_some_and(|i| i.message.as_deref() == Some(message))
    };
    tokio::time::timeout(Duration::from_secs(30), printer.wait_for(wanted))
        .await
        .unwrap_or_else(|_| panic!("the front panel never showed {message:?}"))
}

/// A request made while no device listens waits at the cloud and is collected when the device
/// subscribes; one made while it is subscribed comes with the `printer-state-changed` event.
/// Each time the cloud's `identify-printer-requested` clears and the device's front panel shows
/// the actions and the message.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn identify_printer_sent_to_the_cloud_shows_on_the_device_front_panel() {
    let dir = tempfile::tempdir().unwrap();
    let cloud = device_cloud(&dir.path().join("cloud")).await;
    proxied_printer(&cloud).await;
    let issued = cloud
        .cloud
        .infra()
        .issue_user_credential("ada")
        .await
        .unwrap();
    let client = Client {
        url: format!("{}/ipp/print/lab", cloud.url),
        credentials: Credentials::Basic {
            user: issued.username,
            password: issued.password,
        },
    };

    let answer = client
        .identify(&["display"], "before the device came")
        .await;
    assert_eq!(answer.status(), StatusCode::SUCCESSFUL_OK, "{answer:?}");
    assert!(
        client
            .reasons()
            .await
            .contains(&"identify-printer-requested".to_owned())
    );
    let mut devices = TestFleet::open(&dir.path().join("spool"));
    devices.start(ONE_PRINTER, false, lab_proxy(&cloud));
    let printer = devices.running().printer("Lab").unwrap().clone();
    let snapshot = shown(&printer, "before the device came").await;
    assert_eq!(snapshot.identified.unwrap().actions, ["display"]);
    // The device acknowledged before its panel showed it.
    assert_eq!(client.reasons().await, ["none"]);

    printer.wait_for(|s| s.subscribed).await;
    let answer = client.identify(&[], "by the window").await;
    assert_eq!(answer.status(), StatusCode::SUCCESSFUL_OK, "{answer:?}");
    let snapshot = shown(&printer, "by the window").await;
    assert_eq!(snapshot.identified.unwrap().actions, ["display"]);
    assert_eq!(client.reasons().await, ["none"]);
    devices.stop().await;
}

/// The device's own listener: ipptool's identify-printer-display.test shows its message on the
/// front panel; an action the printer lacks is ignored and returned as unsupported, and the
/// printer displays all the same. The control API, which the dashboard reads, serves it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn identify_printer_on_the_devices_own_listener_shows_on_its_front_panel() {
    let dir = tempfile::tempdir().unwrap();
    let (_cloud, mut devices) = fleet(dir.path(), ONE_PRINTER).await;
    let uri = uri_of(&devices, "Lab");
    let printer = devices.running().printer("Lab").unwrap().clone();

    let test = Path::new("/usr/share/cups/ipptool/identify-printer-display.test");
    let (passed, report) = printlab_testkit::ipp::ipptool(&uri, test, &[]).await;
    assert!(passed, "{report}");
    let snapshot = shown(&printer, "Hello, World!").await;
    assert_eq!(snapshot.identified.unwrap().actions, ["display"]);

    let client = Client {
        url: uri.replacen("ipp://", "http://", 1),
        credentials: Credentials::None,
    };
    let answer = client.identify(&["sound"], "where am I?").await;
    assert_eq!(
        answer.status(),
        StatusCode::SUCCESSFUL_OK_IGNORED_OR_SUBSTITUTED_ATTRIBUTES,
        "{answer:?}"
    );
    let ignored: Vec<&str> = (answer.group(GroupTag::UNSUPPORTED))
        .and_then(|g| g.attr("identify-actions"))
        .map(|a| a.keywords().collect())
        .unwrap_or_default();
    assert_eq!(ignored, ["sound"], "{answer:?}");
    let snapshot = shown(&printer, "where am I?").await;
    let identified = snapshot.identified.unwrap();
    assert_eq!(identified.actions, ["display"]);

    let outputs = JobOutputs {
        spool: devices.spool.clone(),
        out_root: printlab_device::runtime::out_root(&devices.dir),
    };
    let control = printlab_testkit::serve(control_router(
        &devices.running().printers,
        outputs,
        CONTROL_TOKEN,
    ))
    .await;
    let listed: serde_json::Value = reqwest::Client::new()
        .get(format!("{control}/control/printers"))
        .bearer_auth(CONTROL_TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let panel = &listed[0]["identified"];
    assert_eq!(panel["actions"], serde_json::json!(["display"]), "{listed}");
    assert_eq!(panel["message"], "where am I?", "{listed}");
    let at: chrono::DateTime<chrono::Utc> = panel["at"].as_str().unwrap().parse().unwrap();
    assert_eq!(at, identified.at);
    devices.stop().await;
}
