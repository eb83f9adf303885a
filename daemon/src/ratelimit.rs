//! Per-client rate limiting (token bucket) without any third-party service,
//! and the one place that decides which IP a request comes from: the socket's
//! peer address, or `X-Forwarded-For`'s last hop only when the operator said
//! the daemon runs behind a trusted proxy.
//!
//! A client is an IPv4 address or an IPv6 /64 (one home or one server gets a
//! whole /64, so keying single IPv6 addresses would give it unlimited fresh
//! buckets); an IPv4-mapped IPv6 address counts as its IPv4 address. Memory
//! is bounded: at most `max_keys` buckets, spread over shards each behind its
//! own mutex. When a shard is full, a new client evicts the oldest bucket that
//! has refilled completely (it holds no information), looking at most at
//! [`SECOND_CHANCES`] buckets, and otherwise the oldest one: every request
//! costs O(1), never a scan of the map. What it does not do: remember a client
//! beyond eviction (under a flood of fresh /64s an evicted client starts again
//! with a full bucket), or limit anything but the public POST routes that call it.

use std::collections::{HashMap, VecDeque};
use std::hash::{BuildHasher, RandomState};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Mutex;
use std::time::Instant;

use axum::http::HeaderMap;

/// Buckets held at most, by default (a few megabytes).
pub const DEFAULT_MAX_KEYS: usize = 100_000;

/// How many of the oldest buckets a new client may skip, looking for one that
/// has refilled, before it evicts the oldest regardless.
pub const SECOND_CHANCES: usize = 8;

const SHARDS: usize = 16;

/// Who a bucket belongs to: an IPv4 address or the first 64 bits of an IPv6 one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ClientKey {
    /// An IPv4 address (IPv4-mapped IPv6 addresses included).
    V4(Ipv4Addr),
    /// An IPv6 /64 prefix.
    V6(u64),
}

impl From<IpAddr> for ClientKey {
    fn from(ip: IpAddr) -> Self {
        match ip.to_canonical() {
            IpAddr::V4(a) => ClientKey::V4(a),
            IpAddr::V6(a) => ClientKey::V6((u128::from(a) >> 64) as u64),
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    last: Instant,
}

/// One shard: the buckets, and their keys oldest first (each key once).
#[derive(Default)]
struct Shard {
    buckets: HashMap<ClientKey, Bucket>,
    order: VecDeque<ClientKey>,
}

/// A token bucket per client: `burst` requests at once, then `per_minute` a minute.
pub struct RateLimiter {
    shards: Vec<Mutex<Shard>>,
    hasher: RandomState,
    per_shard: usize,
    burst: f64,
    per_sec: f64,
}

impl RateLimiter {
    /// `per_minute == 0` disables the limiter; at most [`DEFAULT_MAX_KEYS`] buckets.
    pub fn new(per_minute: u32, burst: u32) -> Self {
        Self::with_max_keys(per_minute, burst, DEFAULT_MAX_KEYS)
    }

    /// Like [`RateLimiter::new`], holding at most `max_keys` buckets (at least 1).
    pub fn with_max_keys(per_minute: u32, burst: u32, max_keys: usize) -> Self {
        let max_keys = max_keys.max(1);
        // Small limits (tests) keep one shard, so the bound is exact.
        let shards = if max_keys >= 64 * SHARDS { SHARDS } else { 1 };
        RateLimiter {
            shards: (0..shards).map(|_| Mutex::new(Shard::default())).collect(),
            hasher: RandomState::new(),
            per_shard: max_keys / shards,
            burst: f64::from(burst.max(1)),
            per_sec: f64::from(per_minute) / 60.0,
        }
    }

    /// Whether the limiter limits anything (`per_minute` was not 0).
    pub fn enabled(&self) -> bool {
        self.per_sec > 0.0
    }

    /// How many buckets are held (never more than `max_keys`).
    pub fn len(&self) -> usize {
        self.shards.iter().map(|s| s.lock().unwrap_or_else(|p| p.into_inner()).buckets.len()).sum()
    }

    /// Whether no bucket is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Takes one token for `ip`'s client; false when the client must wait.
    pub fn check(&self, ip: IpAddr) -> bool {
        self.check_at(ip, Instant::now())
    }

    /// [`RateLimiter::check`] at a given instant (tests move time by hand).
    pub fn check_at(&self, ip: IpAddr, now: Instant) -> bool {
        if !self.enabled() {
            return true;
        }
        let key = ClientKey::from(ip);
        let shard = &self.shards[self.hasher.hash_one(key) as usize % self.shards.len()];
        let mut shard = shard.lock().unwrap_or_else(|p| p.into_inner());
        if !shard.buckets.contains_key(&key) {
            if shard.buckets.len() >= self.per_shard {
                self.evict(&mut shard, now);
            }
            shard.buckets.insert(key, Bucket { tokens: self.burst, last: now });
            shard.order.push_back(key);
        }
        let Some(b) = shard.buckets.get_mut(&key) else { return true };
        b.tokens = self.refilled(b, now);
        b.last = now;
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            true
        } else {
            false
        }
    }

    fn refilled(&self, b: &Bucket, now: Instant) -> f64 {
        (b.tokens + now.saturating_duration_since(b.last).as_secs_f64() * self.per_sec).min(self.burst)
    }

    /// Removes one bucket: the oldest full one among the next
    /// [`SECOND_CHANCES`] (the others go to the back), else the oldest.
    fn evict(&self, shard: &mut Shard, now: Instant) {
        for _ in 0..SECOND_CHANCES.min(shard.order.len()) {
            let Some(k) = shard.order.pop_front() else { return };
            match shard.buckets.get(&k) {
                Some(b) if self.refilled(b, now) < self.burst => shard.order.push_back(k),
                _ => {
                    shard.buckets.remove(&k);
                    return;
                }
            }
        }
        if let Some(k) = shard.order.pop_front() {
            shard.buckets.remove(&k);
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
    use std::time::Duration;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn bucket_refuses_after_burst_and_ignores_forwarded_by_default() {
        let rl = RateLimiter::new(60, 3);
        let ip = ip("10.0.0.1");
        assert!(rl.check(ip) && rl.check(ip) && rl.check(ip));
        assert!(!rl.check(ip));
        assert!(rl.check("10.0.0.2".parse().unwrap()));
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", "1.2.3.4, 5.6.7.8".parse().unwrap());
        let peer: SocketAddr = "127.0.0.1:5000".parse().unwrap();
        assert_eq!(client_ip(Some(peer), &h, false), peer.ip());
        assert_eq!(client_ip(Some(peer), &h, true), "5.6.7.8".parse::<IpAddr>().unwrap());
    }

    #[test]
    fn ipv6_addresses_of_one_64_share_a_bucket_and_other_64s_do_not() {
        let rl = RateLimiter::new(60, 2);
        let t = Instant::now();
        assert!(rl.check_at(ip("2001:db8:1:2::1"), t));
        assert!(rl.check_at(ip("2001:db8:1:2:ffff:ffff:ffff:fffe"), t));
        // Any other address of the same /64 is the same client.
        assert!(!rl.check_at(ip("2001:db8:1:2:dead:beef:0:1"), t));
        assert!(!rl.check_at(ip("2001:db8:1:2::1"), t));
        // The next /64 (and another IPv4) are other clients.
        assert!(rl.check_at(ip("2001:db8:1:3::1"), t));
        assert!(rl.check_at(ip("192.0.2.1"), t));
        assert_eq!(rl.len(), 3);
        // An IPv4-mapped address is its IPv4 address; IPv4 neighbours stay apart.
        assert!(rl.check_at(ip("::ffff:192.0.2.1"), t));
        assert!(!rl.check_at(ip("192.0.2.1"), t));
        assert!(rl.check_at(ip("192.0.2.2"), t));
        // The bucket refills with time: one token a second here.
        assert!(rl.check_at(ip("2001:db8:1:2::42"), t + Duration::from_millis(1100)));
        assert!(!rl.check_at(ip("2001:db8:1:2::42"), t + Duration::from_millis(1100)));
    }

    #[test]
    fn memory_is_bounded_and_a_limited_client_outlives_idle_ones() {
        let rl = RateLimiter::with_max_keys(60, 2, 4);
        let (before, t) = (Instant::now(), Instant::now() + Duration::from_secs(60));
        let attacker = ip("2001:db8:bad::1");
        // The attacker arrives first (oldest bucket), and is limited.
        assert!(rl.check_at(attacker, t) && rl.check_at(attacker, t));
        // Three clients last seen a minute earlier: their buckets have refilled by `t`.
        for i in 1..=3 {
            assert!(rl.check_at(ip(&format!("192.0.2.{i}")), before));
        }
        assert_eq!(rl.len(), 4);
        // New clients evict the idle (refilled) buckets, never the limited one.
        for i in 10..13 {
            assert!(rl.check_at(ip(&format!("198.51.100.{i}")), t));
            assert_eq!(rl.len(), 4);
            assert!(!rl.check_at(ip("2001:db8:bad::2"), t), "the attacker's /64 is still limited");
        }
        // Beyond the second chances, the oldest goes anyway: the bound holds.
        let rl = RateLimiter::with_max_keys(60, 1, 64);
        for i in 0..10_000u32 {
            rl.check_at(IpAddr::from(Ipv4Addr::from(i)), t);
            assert!(rl.len() <= 64);
        }
        assert_eq!(rl.len(), 64);
    }

    #[test]
    fn a_flood_of_fresh_64s_costs_constant_time_per_request() {
        // Every request a new /64, with the map full: each check evicts one bucket.
        let rl = RateLimiter::with_max_keys(20, 10, 10_000);
        let t = Instant::now();
        let start = Instant::now();
        let n: u64 = 200_000;
        for i in 0..n {
            let a = std::net::Ipv6Addr::from((0x2001_0db8_u128 << 96) | (u128::from(i) << 64) | 1);
            assert!(rl.check_at(IpAddr::V6(a), t));
        }
        let per_check = start.elapsed() / n as u32;
        eprintln!("rate limiter, full map of 10,000 buckets, fresh /64 each time: {per_check:?} per check");
        assert!(rl.len() <= 10_000, "{}", rl.len());
        // Debug build on a shared machine: about 1 µs; a full scan of 10,000 keys would be far more.
        assert!(per_check < Duration::from_micros(50), "{per_check:?} per check");
    }

    #[test]
    fn zero_per_minute_disables_the_limiter_and_holds_nothing() {
        let rl = RateLimiter::new(0, 1);
        assert!(!rl.enabled());
        assert!((0..100).all(|_| rl.check(ip("10.0.0.1"))));
        assert!(rl.is_empty());
    }
}
