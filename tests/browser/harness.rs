//! A recording client: every event the JavaScript API emits, in order, with waits on them.

use std::cell::RefCell;
use std::rc::Rc;

use js_sys::{Function, Reflect, JSON};
use realtime_wasm::js::{JsListener, JsOptions, JsRealtimeClient};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};

/// The server under test.
pub fn server() -> &'static str {
    match option_env!("RT_SERVER") {
        Some(url) => url,
        None => panic!("RT_SERVER must name the test server when the tests are built (scripts/test.sh sets it)"),
    }
}

/// Parses a JSON literal into a JS value (options objects, expected values).
pub fn json(text: &str) -> JsValue {
    JSON::parse(text).unwrap_or_else(|_| panic!("bad JSON in test: {text}"))
}

/// A JS value as JSON text, for comparisons and messages.
pub fn to_json(value: &JsValue) -> String {
    JSON::stringify(value)
        .ok()
        .and_then(|json| JsValue::from(json).as_string())
        .unwrap_or_else(|| "undefined".into())
}

/// Reads `object[key]`.
pub fn get(object: &JsValue, key: &str) -> JsValue {
    Reflect::get(object, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
}

/// One recorded event: its name and listener arguments.
#[derive(Clone, Debug)]
pub struct Recorded {
    pub name: String,
    pub a: JsValue,
    pub b: JsValue,
    /// When it arrived, in ms since the recorder was made.
    pub at: f64,
}

type Log = Rc<RefCell<Vec<Recorded>>>;

/// A client whose every event is recorded.
pub struct Recorder {
    pub client: JsRealtimeClient,
    log: Log,
    _listeners: Vec<Closure<dyn Fn(JsValue, JsValue)>>,
}

impl Recorder {
    /// A client for `path` on the test server (e.g. `/rt`), recording the built-in events and
    /// the named events in `named`.
    pub fn new(path: &str, options: &str, named: &[&str]) -> Recorder {
        let url = format!("{}{path}", server());
        let client = JsRealtimeClient::new(
            url.into(),
            Some(json(options).unchecked_into::<JsOptions>()),
        )
        .unwrap_or_else(|e| panic!("constructor threw: {}", error_message(&e)));
        let log: Log = Rc::default();
        let start = js_sys::Date::now();
        let mut listeners = Vec::new();
        let builtin = [
            "open",
            "message",
            "close",
            "error",
            "transport",
            "reconnecting",
            "state",
        ];
        for name in builtin.iter().chain(named) {
            let log = log.clone();
            let event = name.to_string();
            let closure = Closure::<dyn Fn(JsValue, JsValue)>::new(move |a, b| {
                log.borrow_mut().push(Recorded {
                    name: event.clone(),
                    a,
                    b,
                    at: js_sys::Date::now() - start,
                });
            });
            let f: &Function = closure.as_ref().unchecked_ref();
            client
                .on(
                    JsValue::from_str(name),
                    f.clone().unchecked_into::<JsListener>(),
                )
                .unwrap_or_else(|e| panic!("on({name}) threw: {}", error_message(&e)));
            listeners.push(closure);
        }
        Recorder {
            client,
            log,
            _listeners: listeners,
        }
    }

    /// Everything recorded so far, in order.
    pub fn all(&self) -> Vec<Recorded> {
        self.log.borrow().clone()
    }

    /// Everything recorded so far named `name`.
    pub fn events(&self, name: &str) -> Vec<Recorded> {
        self.log
            .borrow()
            .iter()
            .filter(|e| e.name == name)
            .cloned()
            .collect()
    }

    /// A readable dump of the log, for failure messages.
    pub fn dump(&self) -> String {
        self.log
            .borrow()
            .iter()
            .map(|e| {
                let a = if e.a.is_instance_of::<js_sys::Error>() {
                    error_message(&e.a)
                } else {
                    to_json(&e.a)
                };
                format!("  {:>6.0} ms {} {} {}", e.at, e.name, a, to_json(&e.b))
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// Waits until `done` holds for the log, or fails the test after `timeout_ms` with the log.
    pub async fn wait(&self, what: &str, timeout_ms: u32, done: impl Fn(&Recorder) -> bool) {
        let start = js_sys::Date::now();
        while !done(self) {
            if js_sys::Date::now() - start > f64::from(timeout_ms) {
                panic!(
                    "timed out after {timeout_ms} ms waiting for {what}; events:\n{}",
                    self.dump()
                );
            }
            gloo_timers::future::TimeoutFuture::new(10).await;
        }
    }

    /// Waits for `open` and returns the transport it reported.
    pub async fn opened(&self) -> String {
        self.wait("open", 15_000, |r| !r.events("open").is_empty())
            .await;
        get(&self.events("open")[0].a, "transport")
            .as_string()
            .unwrap_or_default()
    }

    /// The `error` events' codes.
    pub fn error_codes(&self) -> Vec<String> {
        self.events("error")
            .iter()
            .map(|e| get(&e.a, "code").as_string().unwrap_or_default())
            .collect()
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        self.client.close(None, None);
    }
}

/// The message of a thrown JS error.
pub fn error_message(error: &JsValue) -> String {
    get(error, "message")
        .as_string()
        .unwrap_or_else(|| to_json(error))
}

/// A key no other test uses, for the server's `fault_key` test hook.
pub fn unique_key(prefix: &str) -> String {
    format!("{prefix}{}", (js_sys::Math::random() * 1e12) as u64)
}

/// POSTs to a test hook of the server (`lift` or `arm`) for `key`.
pub async fn hook(action: &str, key: &str) {
    let post = js_sys::Function::new_with_args(
        "url",
        "return fetch(url, { method: 'POST' }).then(r => r.status)",
    );
    let url = format!("{}/rt/_hooks/{action}?key={key}", server());
    let promise: js_sys::Promise = post
        .call1(&JsValue::NULL, &url.into())
        .expect("fetch")
        .unchecked_into();
    let status = wasm_bindgen_futures::JsFuture::from(promise)
        .await
        .expect("hook request");
    assert_eq!(
        status.as_f64(),
        Some(204.0),
        "hook {action} answered {status:?}"
    );
}
