//! Functions request templates may call: `random(a, b)`, `choice(list)`, `uuid()`, `now()`.
//! Randomness comes from a per-thread generator, seeded from `load.seed` when given.

use std::cell::RefCell;

use minijinja::{Environment, Error, ErrorKind, Value};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

thread_local! {
    static RNG: RefCell<SmallRng> = RefCell::new(SmallRng::from_os_rng());
}

/// Seeds this thread's generator (each worker thread calls it with its own seed).
pub fn seed_thread(seed: u64) {
    RNG.with(|r| *r.borrow_mut() = SmallRng::seed_from_u64(seed));
}

/// A uniform integer in `[0, n)` from this thread's generator.
pub fn below(n: u64) -> u64 {
    if n == 0 {
        return 0;
    }
    RNG.with(|r| r.borrow_mut().random_range(0..n))
}

/// A uniform float in `[a, b]`.
pub fn uniform(a: f64, b: f64) -> f64 {
    if b <= a {
        return a;
    }
    RNG.with(|r| r.borrow_mut().random_range(a..=b))
}

/// `random(a, b)`: a uniform integer in `[a, b]`; `None` when `b < a`.
pub fn random(a: i64, b: i64) -> Option<i64> {
    (b >= a).then(|| RNG.with(|r| r.borrow_mut().random_range(a..=b)))
}

pub fn register(env: &mut Environment<'static>) {
    env.add_function("random", |a: i64, b: i64| -> Result<i64, Error> {
        if b < a {
            return Err(Error::new(
                ErrorKind::InvalidOperation,
                format!("random({a}, {b}): the second bound is lower"),
            ));
        }
        Ok(random(a, b).unwrap_or(a))
    });
    env.add_function("choice", |items: Vec<Value>| -> Result<Value, Error> {
        if items.is_empty() {
            return Err(Error::new(
                ErrorKind::InvalidOperation,
                "choice() of an empty list",
            ));
        }
        Ok(items[below(items.len() as u64) as usize].clone())
    });
    env.add_function("uuid", || -> String {
        let (a, b): (u64, u64) = RNG.with(|r| {
            let mut r = r.borrow_mut();
            (r.random(), r.random())
        });
        let b = (b & 0x3fff_ffff_ffff_ffff) | 0x8000_0000_0000_0000;
        let a = (a & 0xffff_ffff_ffff_0fff) | 0x0000_0000_0000_4000;
        format!(
            "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
            a >> 32,
            (a >> 16) & 0xffff,
            a & 0xffff,
            b >> 48,
            b & 0xffff_ffff_ffff
        )
    });
    env.add_function("now", || -> f64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64())
    });
}
