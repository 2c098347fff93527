//! The screen pop: which call update shows, refreshes or leaves the pop window,
//! and what happens then (pop event, window, notification, lookup).
//!
//! The decision is a plain function ([`decide`], [`newly_missed`]) over the
//! update and what was already popped; [`ScreenPop`] remembers that, and
//! [`on_update`] does the effects.

use std::collections::VecDeque;
use std::time::Duration;

use ringside_api::{Call, CallId, CallStatus, CallUpdate, Direction, NumberInfo, Outcome};
use ringside_core::{LookupResult, MatchPolicy};
use tauri::{AppHandle, Emitter, Manager, Runtime};

use crate::error::CommandError;
use crate::models::{Navigate, PopState, View, events};
use crate::state::AppState;

/// How many recent calls are remembered as popped / counted as missed.
const REMEMBER: usize = 256;
/// How long the notification waits for the lookup before it goes out with
/// the number only.
const NOTIFY_WAIT: Duration = Duration::from_millis(1500);

/// What one call update means for the pop window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// A new call rings at this agent: pop it (replacing any other).
    Pop,
    /// An update of the call on screen: show its new state.
    Refresh,
    /// Nothing to do.
    Ignore,
}

/// Decide what `call` does to the pop of the agent on `extension`.
///
/// Pops once per call, when it rings at this agent's extension: inbound
/// `ringing` at the agent, or outbound (dialed) when the far end is alerted
/// (`dialing` → `ringing`). Follows the call on screen to its end (also after
/// a transfer away). A dismissed call does not come back.
pub fn decide(
    extension: &str,
    on_screen: Option<&CallId>,
    already_popped: bool,
    call: &Call,
) -> Decision {
    if on_screen == Some(&call.id) {
        return Decision::Refresh;
    }
    if already_popped {
        return Decision::Ignore;
    }
    if call.status == CallStatus::Ringing && call.extension.as_deref() == Some(extension) {
        return Decision::Pop;
    }
    Decision::Ignore
}

/// Whether `call` is a missed call of this agent that was not counted yet.
pub fn newly_missed(extension: &str, already_counted: bool, call: &Call) -> bool {
    !already_counted
        && call.direction == Direction::Inbound
        && call.outcome == Some(Outcome::Missed)
        && call.extension.as_deref() == Some(extension)
}

/// Re-apply the desktop's match policy to a lookup (the hub applied its own).
pub fn apply_policy(mut info: NumberInfo, policy: MatchPolicy) -> NumberInfo {
    let LookupResult {
        number, matches, ..
    } = info.lookup;
    info.lookup = LookupResult::new(number, matches, policy);
    info
}

/// What the pop remembers between updates.
#[derive(Debug, Default)]
pub struct ScreenPop {
    current: Option<PopState>,
    popped: VecDeque<CallId>,
    missed: VecDeque<CallId>,
}

impl ScreenPop {
    pub fn current(&self) -> Option<&PopState> {
        self.current.as_ref()
    }

    pub fn decide(&self, extension: &str, call: &Call) -> Decision {
        decide(
            extension,
            self.current.as_ref().map(|p| &p.call.id),
            self.popped.contains(&call.id),
            call,
        )
    }

    /// Start popping `call` (lookup pending).
    pub fn start(&mut self, call: Call) -> PopState {
        remember(&mut self.popped, call.id.clone());
        let pop = PopState {
            call,
            info: None,
            loading: true,
            lookup_error: None,
        };
        self.current = Some(pop.clone());
        pop
    }

    /// The call on screen changed.
    pub fn refresh(&mut self, call: Call) -> Option<PopState> {
        let pop = self.current.as_mut().filter(|p| p.call.id == call.id)?;
        pop.call = call;
        Some(pop.clone())
    }

    /// The lookup for `id` finished; ignored when another call is on screen.
    pub fn looked_up(
        &mut self,
        id: &CallId,
        result: Result<NumberInfo, CommandError>,
    ) -> Option<PopState> {
        let pop = self.current.as_mut().filter(|p| &p.call.id == id)?;
        pop.loading = false;
        match result {
            Ok(info) => {
                pop.info = Some(info);
                pop.lookup_error = None;
            }
            Err(e) => pop.lookup_error = Some(e),
        }
        Some(pop.clone())
    }

    /// The agent picked match `index` of the call on screen.
    pub fn choose(&mut self, id: &CallId, index: usize) -> Result<PopState, CommandError> {
        let pop = self
            .current
            .as_mut()
            .filter(|p| &p.call.id == id)
            .ok_or_else(|| {
                CommandError::kind(
                    ringside_core::ErrorKind::NotFound,
                    format!("call {id} is not on screen"),
                )
            })?;
        let info = pop.info.as_mut().ok_or_else(|| {
            CommandError::kind(
                ringside_core::ErrorKind::Conflict,
                "the lookup has not finished",
            )
        })?;
        if index >= info.lookup.matches.len() {
            return Err(CommandError::invalid(format!(
                "there are {} matches, no match {index}",
                info.lookup.matches.len()
            )));
        }
        info.lookup.chosen = Some(index);
        Ok(pop.clone())
    }

    pub fn dismiss(&mut self) {
        self.current = None;
    }

    /// Count `call` as missed once; true the first time.
    pub fn count_missed(&mut self, extension: &str, call: &Call) -> bool {
        if !newly_missed(extension, self.missed.contains(&call.id), call) {
            return false;
        }
        remember(&mut self.missed, call.id.clone());
        true
    }

    /// The lookup already done for `id`, if it is on screen.
    pub fn info_for(&self, id: &CallId) -> Option<NumberInfo> {
        self.current
            .as_ref()
            .filter(|p| &p.call.id == id)
            .and_then(|p| p.info.clone())
    }
}

fn remember(list: &mut VecDeque<CallId>, id: CallId) {
    if list.len() >= REMEMBER {
        list.pop_front();
    }
    list.push_back(id);
}

/// Apply one live update: `call-update` event, then pop / refresh, then missed.
pub async fn on_update<R: Runtime>(app: &AppHandle<R>, update: CallUpdate) {
    let _ = app.emit(events::CALL_UPDATE, &update);
    let state = app.state::<AppState>();
    let Some(extension) = state.agent_extension() else {
        return;
    };
    let call = update.call;
    let (decision, shown) = {
        let mut pop = state.pop.lock().unwrap();
        let decision = pop.decide(&extension, &call);
        let shown = match decision {
            Decision::Pop => Some(pop.start(call.clone())),
            Decision::Refresh => pop.refresh(call.clone()),
            Decision::Ignore => None,
        };
        (decision, shown)
    };
    if let Some(shown) = &shown {
        let _ = app.emit(events::POP, shown);
    }
    if decision == Decision::Pop {
        show_window(app);
        let app = app.clone();
        let call = call.clone();
        tauri::async_runtime::spawn(async move { look_up_and_notify(&app, call).await });
    }
    let newly_missed = state.pop.lock().unwrap().count_missed(&extension, &call);
    if newly_missed {
        let app = app.clone();
        tauri::async_runtime::spawn(async move { missed(&app, call).await });
    }
}

/// Look the caller up; the notification goes out as soon as the lookup is
/// back, or after [`NOTIFY_WAIT`] with the number only.
async fn look_up_and_notify<R: Runtime>(app: &AppHandle<R>, call: Call) {
    let state = app.state::<AppState>();
    let policy = state.settings().match_policy;
    let number = call.remote_number.clone();
    let backend = state.backend.clone();
    let mut lookup = tokio::spawn(async move {
        let conn = backend.connection()?;
        let info = conn
            .client
            .lookup(&number)
            .await
            .map_err(CommandError::from)?;
        Ok::<_, CommandError>(apply_policy(info, policy))
    });
    let early = tokio::time::timeout(NOTIFY_WAIT, &mut lookup).await.ok();
    let result = early.map(|r| r.unwrap_or_else(|e| Err(CommandError::internal(e.to_string()))));
    if state.notifications_enabled() {
        let info = result.as_ref().and_then(|r| r.as_ref().ok());
        let notice = crate::notify::ringing_notice(&call, info);
        let app2 = app.clone();
        if let Err(e) = crate::notify::show(notice, move || focus_pop(&app2)).await {
            tracing::warn!("{e}");
        }
    }
    let result = match result {
        Some(r) => r,
        None => lookup
            .await
            .unwrap_or_else(|e| Err(CommandError::internal(e.to_string()))),
    };
    let shown = state.pop.lock().unwrap().looked_up(&call.id, result);
    if let Some(shown) = shown {
        let _ = app.emit(events::POP, &shown);
    }
}

/// A missed call: refresh the count (the hub's, else one more), tell the UI
/// and the tray, notify.
async fn missed<R: Runtime>(app: &AppHandle<R>, call: Call) {
    let state = app.state::<AppState>();
    let from_hub = match state.backend.connection() {
        Ok(conn) => conn.client.me().await.ok().map(|me| me.missed_calls),
        Err(_) => None,
    };
    let total = state.set_missed(from_hub);
    let _ = app.emit(events::MISSED, total);
    crate::tray::refresh(app);
    if state.notifications_enabled() {
        let info = state.pop.lock().unwrap().info_for(&call.id);
        let notice = crate::notify::missed_notice(&call, info.as_ref(), total);
        let app2 = app.clone();
        let id = call.id.clone();
        if let Err(e) = crate::notify::show(notice, move || open_history(&app2, Some(id))).await {
            tracing::warn!("{e}");
        }
    }
}

/// Show the pop window on top, without taking the focus from what the agent
/// is typing.
pub fn show_window<R: Runtime>(app: &AppHandle<R>) {
    if let Some(w) = app.get_webview_window("pop") {
        place_once(&w);
        let _ = w.set_always_on_top(true);
        let _ = w.show();
    }
}

/// The first time, unless the agent put it somewhere (window-state restores
/// that), the pop goes to the top-right corner of its screen.
fn place_once<R: Runtime>(w: &tauri::WebviewWindow<R>) {
    static PLACED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
    if PLACED.swap(true, std::sync::atomic::Ordering::SeqCst) {
        return;
    }
    let (Ok(position), Ok(size), Ok(Some(monitor))) =
        (w.outer_position(), w.outer_size(), w.current_monitor())
    else {
        return;
    };
    if position.x != 0 || position.y != 0 {
        return;
    }
    let area = monitor.work_area();
    let scale = monitor.scale_factor();
    let margin = (16.0 * scale) as i32;
    // A hidden window may report no size yet: fall back to the configured 420 px.
    let width = if size.width < 100 {
        (420.0 * scale) as i32
    } else {
        size.width as i32
    };
    let x = area.position.x + area.size.width as i32 - width - margin;
    let y = area.position.y + margin;
    let _ = w.set_position(tauri::PhysicalPosition::new(x.max(area.position.x), y));
}

pub fn hide_window<R: Runtime>(app: &AppHandle<R>) {
    if let Some(w) = app.get_webview_window("pop") {
        let _ = w.hide();
    }
}

/// The agent clicked the ringing notification.
pub fn focus_pop<R: Runtime>(app: &AppHandle<R>) {
    tracing::debug!("notification clicked: focusing the pop");
    if let Some(w) = app.get_webview_window("pop") {
        let _ = w.show();
        let _ = w.unminimize();
        let _ = w.set_focus();
    }
}

/// Open the main window on the history (of one call).
pub fn open_history<R: Runtime>(app: &AppHandle<R>, call_id: Option<CallId>) {
    tracing::debug!(?call_id, "opening the history");
    crate::show_main(app);
    let _ = app.emit_to(
        "main",
        events::NAVIGATE,
        Navigate {
            view: View::History,
            call_id,
            focus_dial: false,
        },
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};

    fn call(
        id: &str,
        ext: &str,
        direction: Direction,
        status: CallStatus,
        outcome: Option<Outcome>,
    ) -> Call {
        let t = Utc.with_ymd_and_hms(2025, 5, 21, 10, 0, 0).unwrap();
        let mut c = Call::new(CallId::from(id), "gamma", id.into(), t, t);
        c.extension = Some(ext.into());
        c.direction = direction;
        c.status = status;
        c.outcome = outcome;
        c.remote_number = "+34647460197".into();
        c
    }

    use CallStatus::*;
    use Direction::*;

    /// (what happens to the call, what was on screen, popped before, expected)
    #[test]
    fn decisions() {
        let cases: &[(&str, Call, Option<&str>, bool, Decision)] = &[
            (
                "inbound rings at me",
                call("a", "203", Inbound, Ringing, None),
                None,
                false,
                Decision::Pop,
            ),
            (
                "rings at another agent",
                call("a", "301", Inbound, Ringing, None),
                None,
                false,
                Decision::Ignore,
            ),
            (
                "outbound still dialing",
                call("a", "203", Outbound, Dialing, None),
                None,
                false,
                Decision::Ignore,
            ),
            (
                "outbound alerting",
                call("a", "203", Outbound, Ringing, None),
                None,
                false,
                Decision::Pop,
            ),
            (
                "same call again while on screen",
                call("a", "203", Inbound, Ringing, None),
                Some("a"),
                true,
                Decision::Refresh,
            ),
            (
                "answered",
                call("a", "203", Inbound, Talking, None),
                Some("a"),
                true,
                Decision::Refresh,
            ),
            (
                "transferred away, still followed",
                call("a", "301", Inbound, Talking, None),
                Some("a"),
                true,
                Decision::Refresh,
            ),
            (
                "ended",
                call("a", "203", Inbound, Ended, Some(Outcome::Answered)),
                Some("a"),
                true,
                Decision::Refresh,
            ),
            (
                "dismissed call rings on",
                call("a", "203", Inbound, Ringing, None),
                None,
                true,
                Decision::Ignore,
            ),
            (
                "new call replaces the old",
                call("b", "203", Inbound, Ringing, None),
                Some("a"),
                false,
                Decision::Pop,
            ),
            (
                "update of an old call while another is on screen",
                call("a", "203", Inbound, Ended, Some(Outcome::Missed)),
                Some("b"),
                true,
                Decision::Ignore,
            ),
            (
                "talking without ringing first",
                call("c", "203", Inbound, Talking, None),
                None,
                false,
                Decision::Ignore,
            ),
            (
                "transferred to me rings",
                call("d", "203", Inbound, Ringing, None),
                None,
                false,
                Decision::Pop,
            ),
        ];
        for (what, c, on_screen, popped, want) in cases {
            let on_screen = on_screen.map(CallId::from);
            assert_eq!(
                decide("203", on_screen.as_ref(), *popped, c),
                *want,
                "{what}"
            );
        }
    }

    #[test]
    fn missed_counts_once_and_only_mine() {
        let mut pop = ScreenPop::default();
        let missed = call("m", "203", Inbound, Ended, Some(Outcome::Missed));
        assert!(pop.count_missed("203", &missed));
        assert!(
            !pop.count_missed("203", &missed),
            "a repeated update is not a new missed call"
        );
        assert!(!pop.count_missed(
            "203",
            &call("n", "301", Inbound, Ended, Some(Outcome::Missed))
        ));
        assert!(!pop.count_missed(
            "203",
            &call("o", "203", Outbound, Ended, Some(Outcome::NoAnswer))
        ));
        assert!(!pop.count_missed(
            "203",
            &call("p", "203", Inbound, Ended, Some(Outcome::Answered))
        ));
    }

    #[test]
    fn life_of_a_pop() {
        let mut pop = ScreenPop::default();
        let ringing = call("a", "203", Inbound, Ringing, None);
        assert_eq!(pop.decide("203", &ringing), Decision::Pop);
        let shown = pop.start(ringing.clone());
        assert!(shown.loading && shown.info.is_none());
        // lookup for another call is ignored
        assert!(
            pop.looked_up(&CallId::from("zzz"), Err(CommandError::internal("x")))
                .is_none()
        );
        let failed = pop
            .looked_up(&ringing.id, Err(CommandError::unavailable("hub down")))
            .unwrap();
        assert!(!failed.loading);
        assert_eq!(failed.lookup_error.unwrap().code, "unavailable");
        let talking = call("a", "203", Inbound, Talking, None);
        assert_eq!(pop.decide("203", &talking), Decision::Refresh);
        assert_eq!(pop.refresh(talking).unwrap().call.status, Talking);
        assert_eq!(pop.choose(&ringing.id, 0).unwrap_err().code, "conflict");
        pop.dismiss();
        assert!(pop.current().is_none());
        assert_eq!(
            pop.decide("203", &call("a", "203", Inbound, Ended, None)),
            Decision::Ignore
        );
        assert_eq!(
            pop.decide("203", &call("b", "203", Inbound, Ringing, None)),
            Decision::Pop
        );
    }
}
