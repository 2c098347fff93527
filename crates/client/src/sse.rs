//! A Server-Sent Events parser (the WHATWG "event stream interpretation"),
//! fed with bytes as they arrive.

/// One dispatched event. `data` lines are joined with `\n`. An event with an
/// `id` and no data is kept too: it moves the resume point.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SseEvent {
    pub id: Option<String>,
    pub event: Option<String>,
    pub data: String,
}

/// Splits a byte stream into [`SseEvent`]s.
#[derive(Debug)]
pub struct SseParser {
    buffer: Vec<u8>,
    id: Option<String>,
    event: Option<String>,
    data: Option<String>,
    max_line: usize,
    started: bool,
    /// The last byte fed was a CR ending a line.
    after_cr: bool,
}

/// A line longer than the parser's limit: the stream is not what we expect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineTooLong(pub usize);

impl std::fmt::Display for LineTooLong {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "an event stream line is longer than {} bytes", self.0)
    }
}

impl SseParser {
    /// A parser refusing lines longer than `max_line` bytes.
    pub fn new(max_line: usize) -> Self {
        Self {
            buffer: Vec::new(),
            id: None,
            event: None,
            data: None,
            max_line,
            started: false,
            after_cr: false,
        }
    }

    /// Add `bytes`; return the events they complete.
    pub fn feed(&mut self, bytes: &[u8]) -> Result<Vec<SseEvent>, LineTooLong> {
        let bytes = match (self.after_cr, bytes.first()) {
            // The LF of a CRLF split between two chunks.
            (true, Some(b'\n')) => &bytes[1..],
            _ => bytes,
        };
        if !bytes.is_empty() {
            self.after_cr = false;
        }
        self.buffer.extend_from_slice(bytes);
        let mut events = Vec::new();
        let mut start = 0;
        let mut i = 0;
        while i < self.buffer.len() {
            let end = match self.buffer[i] {
                b'\n' => i + 1,
                b'\r' if self.buffer.get(i + 1) == Some(&b'\n') => i + 2,
                b'\r' => {
                    // At the end, it may be the first half of a CRLF.
                    self.after_cr = i + 1 == self.buffer.len();
                    i + 1
                }
                _ => {
                    i += 1;
                    continue;
                }
            };
            let line = String::from_utf8_lossy(&self.buffer[start..i]).into_owned();
            self.line(&line, &mut events);
            start = end;
            i = end;
        }
        self.buffer.drain(..start);
        if self.buffer.len() > self.max_line {
            return Err(LineTooLong(self.max_line));
        }
        Ok(events)
    }

    fn line(&mut self, line: &str, events: &mut Vec<SseEvent>) {
        let line = if self.started {
            line
        } else {
            self.started = true;
            line.strip_prefix('\u{feff}').unwrap_or(line)
        };
        if line.is_empty() {
            if self.id.is_some() || self.data.is_some() {
                events.push(SseEvent {
                    id: self.id.take(),
                    event: self.event.take(),
                    data: self
                        .data
                        .take()
                        .map(|mut d| {
                            d.pop();
                            d
                        })
                        .unwrap_or_default(),
                });
            }
            self.event = None;
            return;
        }
        if line.starts_with(':') {
            return;
        }
        let (field, value) = match line.split_once(':') {
            Some((field, value)) => (field, value.strip_prefix(' ').unwrap_or(value)),
            None => (line, ""),
        };
        match field {
            "data" => {
                let data = self.data.get_or_insert_with(String::new);
                data.push_str(value);
                data.push('\n');
            }
            "event" => self.event = Some(value.to_string()),
            "id" if !value.contains('\0') => self.id = Some(value.to_string()),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(id: Option<&str>, event: Option<&str>, data: &str) -> SseEvent {
        SseEvent {
            id: id.map(str::to_string),
            event: event.map(str::to_string),
            data: data.to_string(),
        }
    }

    /// Each case: the stream cut into chunks, and the events it holds.
    #[test]
    fn streams_parse_into_events() {
        let cases: Vec<(Vec<&str>, Vec<SseEvent>)> = vec![
            (
                vec!["id: 7\nevent: call\ndata: {\"seq\":7}\n\n"],
                vec![ev(Some("7"), Some("call"), "{\"seq\":7}")],
            ),
            // The hub's opening position marker: an id, no data.
            (vec!["id: 42\n\n"], vec![ev(Some("42"), None, "")]),
            // Keep-alive comments and blank lines dispatch nothing.
            (vec![":\n\n", ": keep-alive\n\n\n"], vec![]),
            // Split anywhere, CRLF and CR line ends, no space after the colon.
            (
                vec![
                    "id:1\r",
                    "\nevent:call\r\ndata:",
                    "a\r\r",
                    "id: 2\rdata: b\r\r",
                ],
                vec![ev(Some("1"), Some("call"), "a"), ev(Some("2"), None, "b")],
            ),
            // A CRLF split between chunks is one line end, not two.
            (
                vec!["data: x\r", "\n", "data: y\r", "\n\r\n"],
                vec![ev(None, None, "x\ny")],
            ),
            // Several data lines are joined; an unfinished event waits.
            (
                vec!["data: one\ndata:\ndata: three\n\ndata: half"],
                vec![ev(None, None, "one\n\nthree")],
            ),
            // Unknown fields, a field without a colon, a leading BOM.
            (
                vec!["\u{feff}retry: 10\nfoo: bar\ndata\n\n"],
                vec![ev(None, None, "")],
            ),
            // Text beyond ASCII.
            (
                vec!["data: Luc\u{00ed}a\n\n"],
                vec![ev(None, None, "Luc\u{00ed}a")],
            ),
        ];
        for (chunks, expected) in cases {
            let mut parser = SseParser::new(1024);
            let mut got = Vec::new();
            for chunk in &chunks {
                got.extend(parser.feed(chunk.as_bytes()).unwrap());
            }
            assert_eq!(got, expected, "{chunks:?}");
        }
        // The same byte by byte.
        let text = "id: 3\nevent: call\ndata: Luc\u{00ed}a\n\n";
        let mut parser = SseParser::new(1024);
        let mut got = Vec::new();
        for b in text.as_bytes() {
            got.extend(parser.feed(&[*b]).unwrap());
        }
        assert_eq!(got, vec![ev(Some("3"), Some("call"), "Luc\u{00ed}a")]);
    }

    #[test]
    fn endless_lines_are_refused() {
        let mut parser = SseParser::new(16);
        assert!(parser.feed(b"data: 0123456789").is_ok());
        assert_eq!(parser.feed(b"0123456789"), Err(LineTooLong(16)));
    }
}
