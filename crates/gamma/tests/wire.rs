//! The events wire format, as data: each case is an input body and the
//! expected event, written as a one-line summary of every `PbxEvent` field.

use pretty_assertions::assert_eq;
use ringside_core::{ErrorKind, EventKind, PbxEvent, StateCause};
use ringside_gamma::{GammaEvent, parse_event, parse_state_cause, seed};

/// Every field of the event on one line; `-` for `None`.
fn summary(e: &PbxEvent) -> String {
    fn o<T: ToString>(v: &Option<T>) -> String {
        v.as_ref().map_or("-".into(), ToString::to_string)
    }
    let cause = match &e.cause {
        StateCause::Other(s) => format!("other:{s}"),
        c => format!("{c:?}").to_lowercase(),
    };
    let payload = match &e.kind {
        EventKind::Leg { .. } | EventKind::Unknown { .. } => String::new(),
        EventKind::RecordingAvailable { url } => format!(" url={}", o(url)),
        EventKind::TranscriptionAvailable { transcript } => {
            format!(" segments={}", transcript.segments.len())
        }
        EventKind::AppData { data } => format!(" data={data}"),
    };
    format!(
        "{} {}/{} root={} leg={} orig={} at={} ext={} in={} rec={} remote={} label={} ext_id={}{payload}",
        e.call_id,
        e.state_name(),
        cause,
        o(&e.root_call_id),
        o(&e.leg_id),
        o(&e.original_call_id),
        o(&e.at.map(|t| t.timestamp_millis())),
        o(&e.extension),
        o(&e.incoming),
        o(&e.recording),
        o(&e.remote_number),
        o(&e.remote_label),
        o(&e.external_call_id),
    )
}

fn check(input: &str, expected: &str) {
    let event = parse_event(input.as_bytes(), None)
        .unwrap_or_else(|e| panic!("{input}\nfailed: {}", e.message));
    assert_eq!(event.provider, "gamma");
    assert_eq!(summary(&event), expected, "input: {input}");
}

fn check_scenario(scenario: &str, expected: &[&str]) {
    let bodies = seed::bodies(scenario).unwrap();
    let got: Vec<String> = bodies
        .iter()
        .map(|b| summary(&parse_event(b.as_bytes(), None).unwrap()))
        .collect();
    assert_eq!(got, expected);
}

fn check_invalid(input: &str, needle: &str) {
    let err = parse_event(input.as_bytes(), None).expect_err(input);
    assert_eq!(err.kind, ErrorKind::Invalid, "{input}: {}", err.message);
    assert!(
        err.message.contains(needle),
        "{input}: message {:?} should mention {needle:?}",
        err.message
    );
}

#[test]
fn seed_fixtures() {
    let cases: &[(&str, &[&str])] = &[
        (
            seed::EVENT_ATTRIBUTES_EXAMPLE,
            &[
                "321296 ringing/normal root=- leg=1541763052549.-478323 orig=- at=1541763052569 ext=203 in=true rec=false remote=0647460197 label=647460197 ext_id=-",
            ],
        ),
        (
            seed::INCOMING_ANSWERED,
            &[
                "471900 ringing/normal root=471900 leg=1542399572160.-703374 orig=- at=1542399572176 ext=203 in=true rec=false remote=0647460197 label=647460197 ext_id=-",
                "471900 talking/normal root=471900 leg=1542399572160.-703374 orig=- at=1542399578197 ext=203 in=true rec=false remote=0647460197 label=647460197 ext_id=-",
                "471900 dropped/normal root=471900 leg=1542399572160.-703374 orig=- at=1542399582021 ext=203 in=true rec=false remote=0647460197 label=647460197 ext_id=-",
            ],
        ),
        (
            seed::INCOMING_MISSED,
            &[
                "472362 ringing/normal root=472362 leg=1542401480524.-704062 orig=- at=1542401480534 ext=203 in=true rec=false remote=0647460197 label=647460197 ext_id=-",
                // `lastModificationTime` instead of `eventTimestamp`.
                "472362 dropped/normal root=472362 leg=1542401480524.-704062 orig=- at=1542401484054 ext=203 in=true rec=false remote=0647460197 label=647460197 ext_id=-",
            ],
        ),
        (
            seed::OUTGOING_ANSWERED,
            &[
                "472367 alerting/normal root=472367 leg=1542401510978.-704065 orig=- at=1542401510992 ext=203 in=false rec=false remote=0647460197 label=647460197 ext_id=-",
                "472367 talking/normal root=472367 leg=1542401510978.-704065 orig=- at=1542401516677 ext=203 in=false rec=false remote=0647460197 label=647460197 ext_id=-",
                "472367 dropped/normal root=472367 leg=1542401510978.-704065 orig=- at=1542401521090 ext=203 in=false rec=false remote=0647460197 label=647460197 ext_id=-",
            ],
        ),
        (
            seed::OUTGOING_UNANSWERED,
            &[
                "472388 alerting/normal root=472388 leg=1542401535786.-704094 orig=- at=1542401535788 ext=203 in=false rec=false remote=00647460197 label=0647460197 ext_id=-",
                "472388 dropped/normal root=472388 leg=1542401535786.-704094 orig=- at=1542401541347 ext=203 in=false rec=false remote=00647460197 label=0647460197 ext_id=-",
            ],
        ),
        (
            seed::TRANSFER,
            &[
                "1558393109565 dropped/transfer root=1558393109565 leg=1559134729837.-2132992 orig=- at=1559134729837 ext=201 in=false rec=false remote=0647460197 label=0647460197 ext_id=-",
                "1558393109565.1 alerting/normal root=1558393109565 leg=1559134772839.-2133134_1 orig=1558393109565 at=1559134772839 ext=301 in=true rec=false remote=201 label=Ext 201 ext_id=-",
                "1558393109565.2 alerting/normal root=1558393109565 leg=1559135218331.-2135163_1 orig=1558393109565.1 at=1559135218331 ext=201 in=true rec=false remote=301 label=Ext 301 ext_id=-",
            ],
        ),
        (
            seed::RECORDING,
            &[
                "472388 recordingAvailable/informative root=- leg=- orig=- at=- ext=- in=- rec=- remote=- label=- ext_id=- url=https://callRecording",
            ],
        ),
        (
            seed::TRANSCRIPTION,
            &[
                "472388 transcriptionAvailable/informative root=- leg=- orig=- at=- ext=- in=- rec=- remote=- label=- ext_id=- segments=3",
            ],
        ),
        (
            seed::APP_DATA,
            &[
                "1614639701402 appDataAvailable/informative root=1614639701402 leg=1616752651791.-3682435 orig=- at=1616752779576 ext=9900 in=true rec=false remote=0941892961 label=IncomingVTCRMIvr ext_id=- data=435267232",
            ],
        ),
    ];
    assert_eq!(cases.len(), seed::all().len(), "every fixture has a case");
    for (scenario, expected) in cases {
        check_scenario(scenario, expected);
    }
}

#[test]
fn every_seed_attribute_is_read() {
    let bodies = seed::bodies(seed::TRANSFER).unwrap();
    let third: GammaEvent = serde_json::from_str(&bodies[2]).unwrap();
    assert_eq!(third.originally_from.as_deref(), Some("201"));
    assert_eq!(third.originally_to.as_deref(), Some("301"));
    assert_eq!(third.original_is_incoming, Some(false));
    assert_eq!(third.first_from.as_deref(), Some("201"));
    assert_eq!(third.first_to.as_deref(), Some("0647460197"));
    assert_eq!(third.first_is_incoming, Some(false));
    assert_eq!(third.displayed_external_number.as_deref(), Some("301"));

    let example: GammaEvent =
        serde_json::from_str(&seed::bodies(seed::EVENT_ATTRIBUTES_EXAMPLE).unwrap()[0]).unwrap();
    assert_eq!(
        example.original_dialed_number.as_deref(),
        Some("7541763052569")
    );
    let unanswered = seed::bodies(seed::OUTGOING_UNANSWERED).unwrap();
    let dropped: GammaEvent = serde_json::from_str(&unanswered[1]).unwrap();
    assert_eq!(dropped.line_id.as_deref(), Some("-704094"));
    let missed = seed::bodies(seed::INCOMING_MISSED).unwrap();
    let dropped: GammaEvent = serde_json::from_str(&missed[1]).unwrap();
    assert_eq!(
        (dropped.event_timestamp, dropped.last_modification_time),
        (None, Some(1542401484054))
    );
}

#[test]
fn serialising_round_trips_in_the_vendor_shape() {
    for (name, scenario) in seed::all() {
        for body in seed::bodies(scenario).unwrap() {
            let event: GammaEvent = serde_json::from_str(&body).unwrap();
            let again = serde_json::to_string(&event).unwrap();
            assert_eq!(
                serde_json::from_str::<GammaEvent>(&again).unwrap(),
                event,
                "{name}"
            );
            let original: serde_json::Value = serde_json::from_str(&body).unwrap();
            let written: serde_json::Value = serde_json::from_str(&again).unwrap();
            if name != "transcription" {
                assert_eq!(
                    written, original,
                    "{name}: same attributes, same string values"
                );
            }
        }
    }
}

#[test]
fn transcription_segments() {
    let body = &seed::bodies(seed::TRANSCRIPTION).unwrap()[0];
    let EventKind::TranscriptionAvailable { transcript } =
        parse_event(body.as_bytes(), None).unwrap().kind
    else {
        panic!("not a transcription");
    };
    let got: Vec<(String, Option<f64>, Option<f64>)> = transcript
        .segments
        .iter()
        .map(|s| (s.text.clone(), s.confidence, s.end_seconds))
        .collect();
    assert_eq!(
        got,
        vec![
            ("Hi, good Morning".into(), Some(0.8930228), Some(5.64)),
            (
                " Good Morning sir, How can I help you ?".into(),
                Some(0.9101991),
                Some(10.22)
            ),
            (
                " I'd like some information.".into(),
                Some(0.8818244),
                Some(13.87)
            ),
        ]
    );
    assert_eq!(
        transcript.text(),
        "Hi, good Morning\nGood Morning sir, How can I help you ?\nI'd like some information."
    );
}

#[test]
fn leniency() {
    let cases = [
        // Real booleans, numbers for ids and timestamps, unknown fields.
        (
            r#"{"callId":471900,"callLegId":17,"state":"ringing","isIncoming":true,"isRecording":false,"eventTimestamp":1542399572176,"extension":203,"displayedNumber":647460197,"newField":{"x":[1]}}"#,
            "471900 ringing/normal root=- leg=17 orig=- at=1542399572176 ext=203 in=true rec=false remote=647460197 label=- ext_id=-",
        ),
        // "1"/"0", numbers 1/0, upper case.
        (
            r#"{"callId":"1","state":"talking","isIncoming":"1","isRecording":"0","eventTimestamp":"1542399572176"}"#,
            "1 talking/normal root=- leg=- orig=- at=1542399572176 ext=- in=true rec=false remote=- label=- ext_id=-",
        ),
        (
            r#"{"callId":"1","state":"talking","isIncoming":1,"isRecording":"FALSE"}"#,
            "1 talking/normal root=- leg=- orig=- at=- ext=- in=true rec=false remote=- label=- ext_id=-",
        ),
        // eventTimestamp wins over lastModificationTime; float milliseconds.
        (
            r#"{"callId":"1","state":"dropped","eventTimestamp":1000.0,"lastModificationTime":"2000"}"#,
            "1 dropped/normal root=- leg=- orig=- at=1000 ext=- in=- rec=- remote=- label=- ext_id=-",
        ),
        // Blank and null values are absent; displayedExternalNumber is the fallback.
        (
            r#"{"callId":"1","state":"alerting","displayedNumber":"","displayedExternalNumber":"+34647460197","displayedLabel":null,"eventTimestamp":""}"#,
            "1 alerting/normal root=- leg=- orig=- at=- ext=- in=- rec=- remote=+34647460197 label=- ext_id=-",
        ),
        // A recording notice without its URL still marks the call as recorded.
        (
            r#"{"callId":"1","state":"recordingAvailable","stateCause":"informative"}"#,
            "1 recordingAvailable/informative root=- leg=- orig=- at=- ext=- in=- rec=- remote=- label=- ext_id=- url=-",
        ),
        // Hidden caller.
        (
            r#"{"callId":"1","state":"ringing","displayedNumber":"anonymous"}"#,
            "1 ringing/normal root=- leg=- orig=- at=- ext=- in=- rec=- remote=anonymous label=- ext_id=-",
        ),
        // Unknown and API-triggered states are kept, never fatal.
        (
            r#"{"callId":"9","state":"prompting","stateCause":"causeNormal"}"#,
            "9 prompting/normal root=- leg=- orig=- at=- ext=- in=- rec=- remote=- label=- ext_id=-",
        ),
        (
            r#"{"callId":"9","state":"onHold","stateCause":"causeNormal"}"#,
            "9 onHold/normal root=- leg=- orig=- at=- ext=- in=- rec=- remote=- label=- ext_id=-",
        ),
        // State causes.
        (
            r#"{"callId":"9","state":"dropped","stateCause":"causeBusy"}"#,
            "9 dropped/busy root=- leg=- orig=- at=- ext=- in=- rec=- remote=- label=- ext_id=-",
        ),
        (
            r#"{"callId":"9","state":"dropped","stateCause":"userBUSY"}"#,
            "9 dropped/busy root=- leg=- orig=- at=- ext=- in=- rec=- remote=- label=- ext_id=-",
        ),
        (
            r#"{"callId":"9","state":"dropped","stateCause":"causeRejected"}"#,
            "9 dropped/other:causeRejected root=- leg=- orig=- at=- ext=- in=- rec=- remote=- label=- ext_id=-",
        ),
        (
            r#"{"callId":"9","state":"dropped"}"#,
            "9 dropped/normal root=- leg=- orig=- at=- ext=- in=- rec=- remote=- label=- ext_id=-",
        ),
        // Informative events without a cause; numeric appData.
        (
            r#"{"callId":"9","state":"appDataAvailable","appData":1234}"#,
            "9 appDataAvailable/informative root=- leg=- orig=- at=- ext=- in=- rec=- remote=- label=- ext_id=- data=1234",
        ),
        // A transcription sent as a JSON string, and as plain text.
        (
            r#"{"callId":"9","state":"transcriptionAvailable","transcription":"{\"results\":[{\"alternatives\":[{\"transcript\":\"hola\"}]}]}"}"#,
            "9 transcriptionAvailable/informative root=- leg=- orig=- at=- ext=- in=- rec=- remote=- label=- ext_id=- segments=1",
        ),
        (
            r#"{"callId":"9","state":"transcriptionAvailable","transcription":"hola"}"#,
            "9 transcriptionAvailable/informative root=- leg=- orig=- at=- ext=- in=- rec=- remote=- label=- ext_id=- segments=1",
        ),
    ];
    for (input, expected) in cases {
        check(input, expected);
    }
}

#[test]
fn external_call_id_comes_from_the_header() {
    let body = br#"{"callId":"5","state":"prompting"}"#;
    let e = parse_event(body, Some("rs-0193")).unwrap();
    assert_eq!(e.external_call_id.as_deref(), Some("rs-0193"));
    assert_eq!(
        parse_event(body, Some("  ")).unwrap().external_call_id,
        None
    );
}

#[test]
fn state_causes() {
    let cases = [
        ("causeNormal", StateCause::Normal),
        ("causeTransfer", StateCause::Transfer),
        ("causeBusy", StateCause::Busy),
        ("BUSY_HERE", StateCause::Busy),
        ("informative", StateCause::Informative),
        ("causeNoAnswer", StateCause::Other("causeNoAnswer".into())),
    ];
    for (raw, expected) in cases {
        assert_eq!(parse_state_cause(raw), expected, "{raw}");
    }
}

#[test]
fn bad_input_is_invalid_and_says_why() {
    let cases = [
        ("", "body is not valid JSON"),
        ("{\"callId\":", "body is not valid JSON"),
        (
            "[{\"callId\":\"1\",\"state\":\"ringing\"}]",
            "must be a JSON object, got an array",
        ),
        ("\"ringing\"", "must be a JSON object, got a string"),
        (r#"{"state":"ringing"}"#, "missing `callId`"),
        (r#"{"callId":null,"state":"ringing"}"#, "missing `callId`"),
        (r#"{"callId":"  ","state":"ringing"}"#, "`callId` is empty"),
        (r#"{"callId":"1"}"#, "missing `state`"),
        (r#"{"callId":"1","state":""}"#, "`state` is empty"),
        (
            r#"{"callId":["1"],"state":"ringing"}"#,
            "field `callId` must be a string or a number, got an array",
        ),
        (
            r#"{"callId":"1","state":"ringing","extension":{}}"#,
            "field `extension` must be a string or a number, got an object",
        ),
        (
            r#"{"callId":"1","state":"ringing","isIncoming":"yes"}"#,
            "field `isIncoming` must be a boolean",
        ),
        (
            r#"{"callId":"1","state":"ringing","isRecording":2}"#,
            "field `isRecording` must be a boolean",
        ),
        (
            r#"{"callId":"1","state":"ringing","eventTimestamp":"yesterday"}"#,
            "field `eventTimestamp` must be a number of milliseconds",
        ),
        (
            r#"{"callId":"1","state":"ringing","lastModificationTime":true}"#,
            "field `lastModificationTime` must be a number",
        ),
        (
            r#"{"callId":"1","state":"ringing","eventTimestamp":1.5}"#,
            "field `eventTimestamp` must be a number",
        ),
        (
            r#"{"callId":"1","state":"ringing","eventTimestamp":"99999999999999999"}"#,
            "field `eventTimestamp` is out of range",
        ),
        (
            r#"{"callId":"1","state":"transcriptionAvailable"}"#,
            "must carry `transcription`",
        ),
        (
            r#"{"callId":"1","state":"transcriptionAvailable","transcription":{"results":"x"}}"#,
            "field `transcription` is not in the Google Speech format",
        ),
        (
            r#"{"callId":"1","state":"transcriptionAvailable","transcription":7}"#,
            "field `transcription` must be an object",
        ),
        (
            r#"{"callId":"1","state":"appDataAvailable"}"#,
            "must carry `appData`",
        ),
    ];
    for (input, needle) in cases {
        check_invalid(input, needle);
    }
}
