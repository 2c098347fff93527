//! Native notifications (notify-rust, org.freedesktop.Notifications on Linux).
//!
//! notify-rust has no timeout and blocks on D-Bus, so sending runs in
//! `spawn_blocking` under a timeout. A click on the notification (its
//! `default` action) runs the caller's `on_click` (focus the pop, or open the
//! history for a missed call); the wait for it runs on its own thread, which
//! ends when the notification closes.

use std::time::Duration;

use ringside_api::{Call, NumberInfo};

use crate::error::{CommandError, CommandResult};

const SEND_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a call notification stays up.
const SHOW_FOR: Duration = Duration::from_secs(20);

/// What a notification says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    pub summary: String,
    pub body: String,
}

/// "Lucía Fernández — +34 647 46 01 97" / "Fernández Logística · 2 open deals: …".
pub fn ringing_notice(call: &Call, info: Option<&NumberInfo>) -> Notice {
    let number = pretty_number(&call.remote_number);
    let chosen = info.and_then(|i| i.lookup.chosen_match());
    let summary = match (chosen, info.map(|i| i.lookup.matches.len()).unwrap_or(0)) {
        (Some(m), _) => format!("{} — {number}", m.contact.name),
        (None, 0) => number.clone(),
        (None, n) => format!("{number} — {n} possible contacts"),
    };
    let mut body = Vec::new();
    if let Some(m) = chosen {
        if let Some(company) = &m.contact.company {
            body.push(company.name.clone());
        }
        let open: Vec<_> = m.deals.iter().filter(|d| d.open).collect();
        match open.len() {
            0 => {}
            1 => body.push(format!("1 open deal: {}", deal_line(open[0]))),
            n => body.push(format!(
                "{n} open deals: {}",
                open.iter()
                    .map(|d| deal_line(d))
                    .collect::<Vec<_>>()
                    .join("; ")
            )),
        }
    } else if let Some(info) = info {
        if info.lookup.matches.is_empty() {
            body.push("Unknown caller".to_string());
        } else {
            let names: Vec<_> = info
                .lookup
                .matches
                .iter()
                .map(|m| m.contact.name.as_str())
                .collect();
            body.push(names.join(", "));
        }
    }
    // The PBX's label, when it is a name and not just the number again.
    if let Some(label) = call
        .remote_label
        .as_deref()
        .filter(|l| chosen.is_none() && l.chars().any(char::is_alphabetic))
    {
        body.push(label.to_string());
    }
    Notice {
        summary,
        body: body.join("\n"),
    }
}

/// "Missed call: Lucía Fernández — +34 647 46 01 97".
pub fn missed_notice(call: &Call, info: Option<&NumberInfo>, missed_total: u64) -> Notice {
    let ringing = ringing_notice(call, info);
    Notice {
        summary: format!("Missed call: {}", ringing.summary),
        body: match missed_total {
            0 | 1 => ringing.body,
            n if ringing.body.is_empty() => format!("{n} missed calls"),
            n => format!("{}\n{n} missed calls", ringing.body),
        },
    }
}

fn deal_line(d: &ringside_api::Deal) -> String {
    match (&d.amount, &d.currency) {
        (Some(a), Some(c)) => format!("{} ({}, {a} {c})", d.name, d.stage),
        (Some(a), None) => format!("{} ({}, {a})", d.name, d.stage),
        _ => format!("{} ({})", d.name, d.stage),
    }
}

/// `+34647460197` → `+34 647 46 01 97`; anything else as it is.
pub fn pretty_number(number: &str) -> String {
    if number == "anonymous" || number.is_empty() {
        return "Anonymous caller".to_string();
    }
    if !number.starts_with('+') {
        return number.to_string();
    }
    match phonenumber::parse(None, number) {
        Ok(n) => n
            .format()
            .mode(phonenumber::Mode::International)
            .to_string(),
        Err(_) => number.to_string(),
    }
}

/// Show `notice`; returns the notification id. `on_click` runs (on a plain
/// thread) if the person clicks it.
pub async fn show(notice: Notice, on_click: impl FnOnce() + Send + 'static) -> CommandResult<u32> {
    let send = tokio::task::spawn_blocking(move || {
        let mut n = notify_rust::Notification::new();
        n.appname("Ringside")
            .summary(&notice.summary)
            .body(&notice.body)
            .icon("call-start")
            .timeout(notify_rust::Timeout::Milliseconds(
                SHOW_FOR.as_millis() as u32
            ));
        #[cfg(all(unix, not(target_os = "macos")))]
        {
            n.action("default", "Show")
                .hint(notify_rust::Hint::Category("call".into()));
        }
        n.show().map_err(|e| {
            CommandError::unavailable(format!(
                "cannot show a desktop notification: no notification daemon answered on the \
                 session D-Bus (org.freedesktop.Notifications): {e}"
            ))
        })
    });
    let handle = match tokio::time::timeout(SEND_TIMEOUT, send).await {
        Ok(Ok(result)) => result?,
        Ok(Err(e)) => {
            return Err(CommandError::internal(format!(
                "notification task failed: {e}"
            )));
        }
        Err(_) => {
            return Err(CommandError::kind(
                ringside_core::ErrorKind::Timeout,
                format!(
                    "the notification daemon did not answer within {} s",
                    SEND_TIMEOUT.as_secs()
                ),
            ));
        }
    };
    let id = handle_id(&handle);
    wait_for_click(handle, on_click);
    Ok(id)
}

#[cfg(all(unix, not(target_os = "macos")))]
fn handle_id(handle: &notify_rust::NotificationHandle) -> u32 {
    handle.id()
}

#[cfg(not(all(unix, not(target_os = "macos"))))]
fn handle_id<H>(_: &H) -> u32 {
    0
}

#[cfg(all(unix, not(target_os = "macos")))]
fn wait_for_click(
    handle: notify_rust::NotificationHandle,
    on_click: impl FnOnce() + Send + 'static,
) {
    let spawned = std::thread::Builder::new()
        .name("notification-action".into())
        .spawn(move || {
            handle.wait_for_action(|action| {
                if action == "default" {
                    on_click();
                }
            })
        });
    if let Err(e) = spawned {
        tracing::warn!("cannot wait for the notification's action: {e}");
    }
}

#[cfg(not(all(unix, not(target_os = "macos"))))]
fn wait_for_click<H>(_: H, _: impl FnOnce() + Send + 'static) {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pretty_numbers() {
        assert_eq!(pretty_number("+34647460197"), "+34 647 46 01 97");
        assert_eq!(pretty_number("203"), "203");
        assert_eq!(pretty_number("anonymous"), "Anonymous caller");
    }

    const CHILD: &str = "RINGSIDE_NOTIFY_TEST_CHILD";

    /// With `RINGSIDE_REQUIRE_NOTIFICATIONS` (CI runs dunst) a notification is
    /// sent and has an id. Without a notification daemon (forced in a child
    /// process whose session bus address leads nowhere) the error says what
    /// is missing.
    #[tokio::test]
    async fn sends_or_names_the_missing_daemon() {
        let notice = Notice {
            summary: "Lucía Fernández — +34 647 46 01 97".into(),
            body: "Fernández Logística\n2 open deals".into(),
        };
        if std::env::var_os(CHILD).is_some() {
            let err = show(notice, || {}).await.unwrap_err();
            assert_eq!(err.code, "unavailable", "{err:?}");
            assert!(
                err.message.contains("org.freedesktop.Notifications"),
                "{err:?}"
            );
            return;
        }
        if std::env::var_os("RINGSIDE_REQUIRE_NOTIFICATIONS").is_some() {
            let id = show(notice, || {}).await.expect("notification daemon");
            assert!(id > 0);
        }
        let out = std::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "notify::tests::sends_or_names_the_missing_daemon",
                "--exact",
                "--nocapture",
            ])
            .env(CHILD, "1")
            .env(
                "DBUS_SESSION_BUS_ADDRESS",
                "unix:path=/nonexistent/ringside-test-bus",
            )
            .env_remove("DISPLAY")
            .output()
            .unwrap();
        let log = String::from_utf8_lossy(&out.stdout).to_string()
            + &String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{log}");
        assert!(log.contains("1 passed"), "{log}");
    }
}
