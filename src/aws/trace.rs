//! What `-v` shows of the AWS calls: one line per call (operation, endpoint, duration, attempts,
//! request id, outcome), and one per attempt that failed and was retried. Nothing of a request's
//! parameters or a response's body is logged, so no secret can be.

use std::sync::{Arc, Mutex};

use aws_sdk_ec2::config::interceptors::{BeforeTransmitInterceptorContextRef, FinalizerInterceptorContextRef};
use aws_sdk_ec2::config::{ConfigBag, Intercept, RuntimeComponents};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// What the attempts of the call in flight saw (kenv makes one call at a time).
#[derive(Debug, Default, Clone)]
pub struct Attempts {
    pub count: u32,
    pub endpoint: String,
    pub request_id: Option<String>,
}

/// An interceptor on every client: it records each attempt of the call in flight.
#[derive(Debug, Clone, Default)]
pub struct Tracer {
    attempts: Arc<Mutex<Attempts>>,
}

impl Tracer {
    /// Forgets the last call's attempts; call before a new one.
    pub fn start(&self) {
        *self.lock() = Attempts::default();
    }

    pub fn attempts(&self) -> Attempts {
        self.lock().clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Attempts> {
        self.attempts.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// `scheme://host[:port]` of a URI: never its path or query.
fn origin(uri: &str) -> &str {
    let rest = uri.find("://").map_or(0, |i| i + 3);
    uri[rest..].find(['/', '?']).map_or(uri, |end| &uri[..rest + end])
}

impl Intercept for Tracer {
    fn name(&self) -> &'static str {
        "kenv-trace"
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let mut a = self.lock();
        a.count += 1;
        a.endpoint = origin(context.request().uri()).to_string();
        Ok(())
    }

    fn read_after_attempt(
        &self,
        context: &FinalizerInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let Some(response) = context.response() else { return Ok(()) };
        let headers = response.headers();
        let id = headers.get("x-amzn-requestid").or_else(|| headers.get("x-amz-request-id"));
        let status = response.status().as_u16();
        let mut a = self.lock();
        a.request_id = id.map(String::from);
        if status >= 500 || status == 429 {
            tracing::debug!(target: "kenv::aws", "  attempt {} answered HTTP {status}; the SDK retries it", a.count);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn an_origin_keeps_no_path_or_query() {
        assert_eq!(
            super::origin("https://ec2.ap-northeast-1.amazonaws.com/?Action=X"),
            "https://ec2.ap-northeast-1.amazonaws.com"
        );
        assert_eq!(super::origin("http://127.0.0.1:4566"), "http://127.0.0.1:4566");
        assert_eq!(super::origin("http://127.0.0.1:4566?token=x"), "http://127.0.0.1:4566");
    }
}
