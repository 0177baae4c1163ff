//! Where a decode failed, as a JSON path (`shop_order_list[3].order_id`): recorded by the
//! lenient decoders on the way out of the failure ([`Trail`]), or read off the JSON text
//! at the error's position ([`at_position`]) when no lenient decoder saw it.

/// One step of a JSON path.
pub(super) enum Step {
    Key(Box<str>),
    Index(usize),
}

thread_local! {
    /// The path of the failure unwinding on this thread, innermost step first.
    static TRAIL: std::cell::RefCell<Vec<Step>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// The JSON path of a decode failure, recorded while the error travels out: each object,
/// list or map whose value failed adds its key or index. Work happens only on failure,
/// except one check per container: a container that starts decoding clears a trail left
/// by an error that something caught and recovered from (a serde `untagged` enum).
pub(super) struct Trail;

impl Trail {
    #[inline]
    pub(super) fn enter_container() {
        TRAIL.with(|trail| {
            let mut trail = trail.borrow_mut();
            if !trail.is_empty() {
                trail.clear();
            }
        });
    }

    #[cold]
    fn note(step: Step) {
        TRAIL.with(|trail| trail.borrow_mut().push(step));
    }

    pub(super) fn key<E>(key: &str) -> impl FnOnce(E) -> E + '_ {
        move |error| {
            Trail::note(Step::Key(key.into()));
            error
        }
    }

    pub(super) fn index<E>(index: usize) -> impl FnOnce(E) -> E {
        move |error| {
            Trail::note(Step::Index(index));
            error
        }
    }

    /// The recorded path, outermost step first, as `a[3].b`; the trail is left empty.
    pub(super) fn take() -> String {
        let steps = TRAIL.with(|trail| std::mem::take(&mut *trail.borrow_mut()));
        let mut path = String::new();
        for step in steps.iter().rev() {
            match step {
                Step::Key(key) => {
                    if !path.is_empty() {
                        path.push('.');
                    }
                    path.push_str(key);
                }
                Step::Index(index) => path.push_str(&format!("[{index}]")),
            }
        }
        path
    }
}

/// A fresh trail for one [`from_slice`]; the caller's (a decode inside a decode) comes back after.
pub(super) struct TrailScope(Vec<Step>);

impl TrailScope {
    pub(super) fn enter() -> Self {
        TrailScope(TRAIL.with(|trail| std::mem::take(&mut *trail.borrow_mut())))
    }
}

impl Drop for TrailScope {
    fn drop(&mut self) {
        let outer = std::mem::take(&mut self.0);
        TRAIL.with(|trail| *trail.borrow_mut() = outer);
    }
}

/// The path of a failure from what the [`Trail`] recorded and the error's position.
///
/// The trail is exact but starts at the outermost lenient decoder: inside a derived type
/// it lacks the outer keys. The position is complete but can only see the input: a list
/// refused as a whole (the decode budget) shows the index it reached. So: the trail when
/// the position only adds a tail to it, the position otherwise (including when the trail
/// is empty or left over from an error something recovered from).
pub(super) fn locate(trail: String, json: &[u8], line: usize, column: usize) -> String {
    if line == 0 {
        return trail;
    }
    let position = at_position(json, line, column);
    let extends_trail = !trail.is_empty()
        && position.starts_with(&trail)
        && matches!(position.as_bytes().get(trail.len()), None | Some(b'.' | b'['));
    if extends_trail {
        trail
    } else {
        position
    }
}

/// The path of the value being read at `line`:`column` (serde_json's 1-based position of
/// an error, counted in bytes) of `json`: the keys and indices of the containers still
/// open there. A best effort for errors the [`Trail`] did not see; never fails.
pub(super) fn at_position(json: &[u8], line: usize, column: usize) -> String {
    let line_start = if line <= 1 {
        0
    } else {
        match json.iter().enumerate().filter(|(_, b)| **b == b'\n').nth(line - 2) {
            Some((newline, _)) => newline + 1,
            None => return String::new(),
        }
    };
    let end = line_start.saturating_add(column).min(json.len());
    let mut open: Vec<Frame> = Vec::new();
    let mut i = 0;
    while i < end {
        let byte = json[i];
        if !matches!(byte, b' ' | b'\t' | b'\r' | b'\n' | b',' | b':' | b']' | b'}') {
            // A value begins (or goes on) here: the list holding it has started its item.
            if let Some(Frame::Array { started, .. }) = open.last_mut() {
                *started = true;
            }
        }
        match byte {
            b'{' => open.push(Frame::Object { key: None }),
            b'[' => open.push(Frame::Array { index: 0, started: false }),
            b'}' | b']' => {
                open.pop();
            }
            b',' => match open.last_mut() {
                Some(Frame::Object { key }) => *key = None,
                Some(Frame::Array { index, started }) => {
                    *index += 1;
                    *started = false;
                }
                None => {}
            },
            b'"' => {
                let close = string_end(json, i);
                if let Some(Frame::Object { key: key @ None }) = open.last_mut() {
                    let raw = &json[i..close.min(json.len())];
                    *key = Some(
                        serde_json::from_slice::<String>(raw)
                            .unwrap_or_else(|_| String::from_utf8_lossy(&raw[1.min(raw.len())..]).into_owned()),
                    );
                }
                i = close;
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    let mut path = String::new();
    for frame in &open {
        match frame {
            Frame::Object { key: Some(key) } => {
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(key);
            }
            Frame::Array { index, started: true } => path.push_str(&format!("[{index}]")),
            _ => {}
        }
    }
    path
}

/// A container open at the position: an object with the key being read, or a list with
/// the index being read (`started` once a value began).
enum Frame {
    Object { key: Option<String> },
    Array { index: usize, started: bool },
}

/// The index just past the string starting at `start` (a `"`), or the end of the input.
fn string_end(json: &[u8], start: usize) -> usize {
    let mut i = start + 1;
    while i < json.len() {
        match json[i] {
            b'\\' => i += 2,
            b'"' => return i + 1,
            _ => i += 1,
        }
    }
    json.len()
}

#[cfg(test)]
mod tests {
    use super::at_position;

    fn path_of_error<T: serde::de::DeserializeOwned>(json: &str) -> String {
        let error = serde_json::from_str::<T>(json).err().expect("the input is wrong");
        at_position(json.as_bytes(), error.line(), error.column())
    }

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Order {
        order_id: i64,
        #[serde(default)]
        items: Vec<Item>,
    }

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Item {
        sku_id: i64,
        #[serde(default)]
        tags: Vec<String>,
    }

    #[test]
    fn derived_types_get_the_path_of_their_wrong_value() {
        assert_eq!(path_of_error::<Order>(r#"{"order_id":"x"}"#), "order_id");
        assert_eq!(path_of_error::<Order>(r#"{"order_id":{"a":1}}"#), "order_id");
        assert_eq!(
            path_of_error::<Order>(r#"{"order_id":1,"items":[{"sku_id":1},{"sku_id":true}]}"#),
            "items[1].sku_id"
        );
        assert_eq!(
            path_of_error::<Order>(r#"{"order_id":1,"items":[{"sku_id":1,"tags":["a",2]}]}"#),
            "items[0].tags[1]"
        );
        assert_eq!(
            path_of_error::<Order>("{\n  \"order_id\": 1,\n  \"items\": [\n    {\"sku_id\": \"7\"}\n  ]\n}"),
            "items[0].sku_id"
        );
        assert_eq!(path_of_error::<Order>(r#"{"order_id":1,"items":{"sku_id":1}}"#), "items");
        assert_eq!(path_of_error::<Order>(r#"{"a\"b":{"c":[1,2]},"order_id":[]}"#), "order_id");
    }

    #[test]
    fn missing_fields_and_syntax_errors_point_at_their_object() {
        assert_eq!(path_of_error::<Order>(r#"{"order_id":1,"items":[{"tags":[]}]}"#), "items[0]");
        assert_eq!(path_of_error::<Order>(r#"{"order_id":1,"items":[{"sku_id":1,}]}"#), "items[0]");
        assert_eq!(path_of_error::<Order>(r#"{"order_id":1} x"#), "");
        assert_eq!(path_of_error::<Order>(r#""text""#), "");
    }

    #[test]
    fn positions_outside_the_input_give_no_path() {
        assert_eq!(at_position(b"{}", 9, 1), "");
        assert_eq!(at_position(b"", 1, 5), "");
        assert_eq!(at_position(br#"{"a":"unterminated"#, 1, 40), "a");
    }
}
