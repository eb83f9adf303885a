//! Per-client-IP rate limiting (token bucket) without any third-party service,
//! and the one place that decides which IP a request comes from: the socket's
//! peer address, or `X-Forwarded-For`'s last hop only when the operator said
//! the daemon runs behind a trusted proxy.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Mutex;
use std::time::Instant;

use axum::http::HeaderMap;

/// A token bucket per IP: `burst` requests at once, then `per_minute` a minute.
pub struct RateLimiter {
    buckets: Mutex<HashMap<IpAddr, (f64, Instant)>>,
    burst: f64,
    per_sec: f64,
}

impl RateLimiter {
    /// `per_minute == 0` disables the limiter.
    pub fn new(per_minute: u32, burst: u32) -> Self {
        RateLimiter {
            buckets: Mutex::new(HashMap::new()),
            burst: f64::from(burst.max(1)),
            per_sec: f64::from(per_minute) / 60.0,
        }
    }

    /// Whether the limiter limits anything (`per_minute` was not 0).
    pub fn enabled(&self) -> bool {
        self.per_sec > 0.0
    }

    /// Takes one token for `ip`; false when the client must wait.
    pub fn check(&self, ip: IpAddr) -> bool {
        if !self.enabled() {
            return true;
        }
        let now = Instant::now();
        let mut m = self.buckets.lock().unwrap();
        if m.len() > 100_000 {
            let (burst, rate) = (self.burst, self.per_sec);
            m.retain(|_, (tokens, t)| *tokens + now.duration_since(*t).as_secs_f64() * rate < burst);
        }
        let (tokens, last) = m.entry(ip).or_insert((self.burst, now));
        *tokens = (*tokens + now.duration_since(*last).as_secs_f64() * self.per_sec).min(self.burst);
        *last = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// The client's IP: the peer, or the proxy-reported one when configured.
pub fn client_ip(peer: Option<SocketAddr>, headers: &HeaderMap, trust_forwarded: bool) -> IpAddr {
    let peer_ip = peer.map(|p| p.ip()).unwrap_or(IpAddr::from([127, 0, 0, 1]));
    if trust_forwarded
        && let Some(v) = headers.get("x-forwarded-for").and_then(|v| v.to_str().ok())
            && let Some(ip) = v.rsplit(',').next().and_then(|s| s.trim().parse().ok()) {
                return ip;
            }
    peer_ip
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_refuses_after_burst_and_ignores_forwarded_by_default() {
        let rl = RateLimiter::new(60, 3);
        let ip: IpAddr = "10.0.0.1".parse().unwrap();
        assert!(rl.check(ip) && rl.check(ip) && rl.check(ip));
        assert!(!rl.check(ip));
        assert!(rl.check("10.0.0.2".parse().unwrap()));
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", "1.2.3.4, 5.6.7.8".parse().unwrap());
        let peer: SocketAddr = "127.0.0.1:5000".parse().unwrap();
        assert_eq!(client_ip(Some(peer), &h, false), peer.ip());
        assert_eq!(client_ip(Some(peer), &h, true), "5.6.7.8".parse::<IpAddr>().unwrap());
    }
}
