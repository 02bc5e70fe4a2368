//! Unit tests of the delivery queue storage on an in-memory database with the real
//! migrations: enqueue, claims and leases, per-host limits, the breaker, unavailable
//! hosts and the admin resets.

use super::*;
use crate::db::Db;
use crate::db::queue::pending_work;

const LEASE: i64 = 60_000;
const T0: i64 = 1_700_000_000_000;
const FAILED: Failure = Failure {
    status: Some(500),
    error: None,
};

fn inboxes(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

fn claim_all(conn: &Connection, now: i64) -> Vec<Job> {
    claim(conn, now, 100, LEASE).unwrap()
}

fn host(conn: &Connection, name: &str) -> HostState {
    find_host(conn, name).unwrap().expect("host row")
}

/// Queues one job for `inbox` and returns its id.
fn one(conn: &Connection, inbox: &str, is_follow: bool, now: i64) -> i64 {
    assert_eq!(
        enqueue(conn, &inboxes(&[inbox]), "{}", is_follow, now).unwrap(),
        1
    );
    conn.last_insert_rowid()
}

/// Claims the job of `host` and records a failure with a retry due at `now`.
fn fail_once(conn: &Connection, host_name: &str, now: i64) {
    let job = claim_all(conn, now)
        .into_iter()
        .find(|j| j.host == host_name)
        .expect("a job of the host is claimable");
    record_retry(conn, &job, now, &FAILED, now).unwrap();
}

#[test]
fn host_of_normalises() {
    assert_eq!(
        host_of("https://Example.ORG/inbox").as_deref(),
        Some("example.org")
    );
    assert_eq!(
        host_of("https://example.org.:443/x").as_deref(),
        Some("example.org")
    );
    assert_eq!(
        host_of("http://127.0.0.1:8080/i").as_deref(),
        Some("127.0.0.1:8080")
    );
    assert_eq!(
        host_of("https://[::1]:8443/i").as_deref(),
        Some("[::1]:8443")
    );
    assert_eq!(host_of("not a url"), None);
    assert_eq!(host_of("mailto:a@b.example"), None);
}

#[test]
fn enqueue_dedupes_and_skips_blocked_domains() {
    let conn = Db::open_in_memory().unwrap();
    conn.execute(
        "INSERT INTO domain_blocks (domain, created_at) VALUES ('blocked.org', 0), ('10.1.2.3', 0)",
        [],
    )
    .unwrap();
    let list = inboxes(&[
        "https://a.example/inbox",
        "https://a.example/inbox",
        "https://B.Example:8443/users/x/inbox",
        "https://blocked.org/inbox",
        "https://Sub.Blocked.org/inbox",
        "https://blocked.org:8443/inbox",
        "https://notblocked.org/inbox",
        "http://10.1.2.3:80/inbox",
        "http://10.1.2.4/inbox",
        "not a url",
    ]);
    assert_eq!(enqueue(&conn, &list, "{\"a\":1}", false, T0).unwrap(), 4);
    let pending = list_pending(&conn).unwrap();
    let got: Vec<(&str, &str)> = pending
        .iter()
        .map(|p| (p.inbox.as_str(), p.host.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            ("https://a.example/inbox", "a.example"),
            ("https://B.Example:8443/users/x/inbox", "b.example:8443"),
            ("https://notblocked.org/inbox", "notblocked.org"),
            ("http://10.1.2.4/inbox", "10.1.2.4"),
        ]
    );
    for p in &pending {
        assert_eq!((p.attempts, p.next_at, p.created_at), (0, T0, T0));
        assert_eq!((p.claimed_until, p.last_status), (None, None));
        assert!(!p.is_follow);
    }
    assert!(pending_work(&conn, T0).unwrap());
    assert!(!pending_work(&conn, T0 - 1).unwrap());
}

#[test]
fn claim_takes_one_per_host_and_at_most_two_in_flight() {
    let conn = Db::open_in_memory().unwrap();
    for n in 1..=5 {
        one(
            &conn,
            &format!("https://a.example/u{n}/inbox"),
            false,
            T0 + n,
        );
    }
    one(&conn, "https://b.example/inbox", false, T0);
    // One per host in one claim, oldest first.
    let first = claim_all(&conn, T0 + 10);
    let got: Vec<&str> = first.iter().map(|j| j.inbox.as_str()).collect();
    assert_eq!(
        got,
        ["https://b.example/inbox", "https://a.example/u1/inbox"]
    );
    assert_eq!(first[0].claimed_until, T0 + 10 + LEASE);
    let second = claim_all(&conn, T0 + 11);
    assert_eq!(second.len(), 1);
    assert_eq!(second[0].inbox, "https://a.example/u2/inbox");
    // Two of a.example are in flight: nothing more for it.
    assert!(claim_all(&conn, T0 + 12).is_empty());
    // A finished job frees a slot.
    record_success(&conn, &first[1], T0 + 13).unwrap();
    let third = claim_all(&conn, T0 + 14);
    assert_eq!(third.len(), 1);
    assert_eq!(third[0].inbox, "https://a.example/u3/inbox");
    // `limit` caps the batch.
    one(&conn, "https://c.example/inbox", false, T0);
    one(&conn, "https://d.example/inbox", false, T0);
    assert_eq!(claim(&conn, T0 + 15, 1, LEASE).unwrap().len(), 1);
    // Jobs not yet due are not claimed.
    one(&conn, "https://e.example/inbox", false, T0 + 100);
    assert!(
        claim_all(&conn, T0 + 16)
            .iter()
            .all(|j| j.host != "e.example")
    );
}

#[test]
fn an_expired_lease_makes_the_job_claimable_again() {
    let conn = Db::open_in_memory().unwrap();
    let id = one(&conn, "https://a.example/inbox", false, T0);
    let job = claim(&conn, T0, 4, 1000).unwrap().remove(0);
    assert_eq!((job.id, job.claimed_until), (id, T0 + 1000));
    // In flight counts as pending work for settle().
    assert!(pending_work(&conn, T0 + 500).unwrap());
    assert!(claim(&conn, T0 + 999, 4, 1000).unwrap().is_empty());
    // The worker died: after the lease the job is due again, attempts unchanged.
    let again = claim(&conn, T0 + 1000, 4, 1000).unwrap().remove(0);
    assert_eq!(
        (again.id, again.attempts, again.claimed_until),
        (id, 0, T0 + 2000)
    );
    // The first holder lost its lease and may not renew (and so not send).
    assert!(!renew(&conn, id, job.claimed_until, T0 + 5000).unwrap());
    assert!(renew(&conn, id, again.claimed_until, T0 + 5000).unwrap());
    assert!(claim(&conn, T0 + 4999, 4, 1000).unwrap().is_empty());
}

#[test]
fn release_puts_a_job_back_without_counting() {
    let conn = Db::open_in_memory().unwrap();
    one(&conn, "https://a.example/inbox", false, T0);
    let job = claim_all(&conn, T0).remove(0);
    release(&conn, job.id).unwrap();
    let p = &list_pending(&conn).unwrap()[0];
    assert_eq!((p.attempts, p.claimed_until, p.next_at), (0, None, T0));
    assert_eq!(find_host(&conn, "a.example").unwrap(), None);
    assert_eq!(claim_all(&conn, T0 + 1)[0].id, job.id);
}

#[test]
fn retry_and_final_outcomes_are_recorded() {
    let conn = Db::open_in_memory().unwrap();
    one(&conn, "https://a.example/inbox", false, T0);
    let job = claim_all(&conn, T0).remove(0);
    let failure = Failure {
        status: None,
        error: Some("network: timed out"),
    };
    record_retry(&conn, &job, T0 + 15_000, &failure, T0).unwrap();
    let p = &list_pending(&conn).unwrap()[0];
    assert_eq!(
        (p.attempts, p.next_at, p.claimed_until),
        (1, T0 + 15_000, None)
    );
    assert_eq!(p.last_error.as_deref(), Some("network: timed out"));
    assert!(!pending_work(&conn, T0 + 14_999).unwrap());
    let h = host(&conn, "a.example");
    assert_eq!((h.consecutive_fails, h.failure_days), (1, 1));
    // A final 4xx ends the job and shows the host is alive.
    let job = claim_all(&conn, T0 + 15_000).remove(0);
    assert_eq!(job.attempts, 1);
    record_final(&conn, &job, false, T0 + 16_000).unwrap();
    assert!(list_pending(&conn).unwrap().is_empty());
    let h = host(&conn, "a.example");
    assert_eq!((h.consecutive_fails, h.failure_days), (0, 0));
    assert_eq!(h.last_success_at, Some(T0 + 16_000));
    // An unreachable final counts against the host.
    one(&conn, "https://a.example/inbox", false, T0);
    let job = claim_all(&conn, T0 + 17_000).remove(0);
    record_final(&conn, &job, true, T0 + 17_000).unwrap();
    assert!(list_pending(&conn).unwrap().is_empty());
    assert_eq!(host(&conn, "a.example").consecutive_fails, 1);
}

#[test]
fn breaker_opens_after_ten_failures_then_lets_one_probe_through() {
    let conn = Db::open_in_memory().unwrap();
    one(&conn, "https://a.example/1", false, T0);
    one(&conn, "https://a.example/2", false, T0);
    for n in 0..9 {
        fail_once(&conn, "a.example", T0 + n);
    }
    assert_eq!(host(&conn, "a.example").paused_until, None);
    fail_once(&conn, "a.example", T0 + 9);
    let h = host(&conn, "a.example");
    assert_eq!(h.consecutive_fails, 10);
    assert_eq!(h.paused_until, Some(T0 + 9 + BREAKER_PAUSE_MS));
    assert!(
        !h.unavailable,
        "ten failures on one day do not make a host unavailable"
    );
    assert_eq!(
        list_unavailable_hosts(&conn, T0 + 10).unwrap(),
        vec![h.clone()]
    );
    assert!(claim_all(&conn, T0 + 10).is_empty());
    assert!(claim_all(&conn, T0 + 8 + BREAKER_PAUSE_MS).is_empty());
    // After the pause: one probe at a time, though two jobs are due.
    let after = T0 + 9 + BREAKER_PAUSE_MS;
    assert!(list_unavailable_hosts(&conn, after).unwrap().is_empty());
    let probe = claim_all(&conn, after);
    assert_eq!(probe.len(), 1);
    assert!(claim_all(&conn, after + 1).is_empty());
    // The probe fails: paused again.
    record_retry(&conn, &probe[0], after, &FAILED, after + 2).unwrap();
    assert_eq!(
        host(&conn, "a.example").paused_until,
        Some(after + 2 + BREAKER_PAUSE_MS)
    );
    assert!(claim_all(&conn, after + 3).is_empty());
    // The next probe succeeds: the breaker closes, two may go at once again.
    let later = after + 2 + BREAKER_PAUSE_MS;
    let probe = claim_all(&conn, later).remove(0);
    record_success(&conn, &probe, later).unwrap();
    let h = host(&conn, "a.example");
    assert_eq!((h.consecutive_fails, h.paused_until), (0, None));
    one(&conn, "https://a.example/3", false, later);
    assert_eq!(claim_all(&conn, later + 1).len(), 1);
    assert_eq!(claim_all(&conn, later + 2).len(), 1);
}

/// Records failures of `a.example` on each of `days` (day numbers from T0's day).
fn fail_on_days(conn: &Connection, days: impl IntoIterator<Item = i64>) {
    for day in days {
        let now = T0 + day * DAY_MS;
        fail_once(conn, "a.example", now);
        // Twice a day (while the host may still be tried): the same day counts once.
        if !host(conn, "a.example").unavailable {
            fail_once(conn, "a.example", now + 1);
        }
        close_breaker(conn);
    }
}

/// Closes the breaker without touching the day count (keeps these tests about days).
fn close_breaker(conn: &Connection) {
    conn.execute(
        "UPDATE hosts SET consecutive_fails = 0, paused_until = NULL WHERE host = 'a.example'",
        [],
    )
    .unwrap();
}

#[test]
fn failures_on_seven_distinct_days_make_a_host_unavailable() {
    let conn = Db::open_in_memory().unwrap();
    one(&conn, "https://a.example/inbox", false, T0);
    fail_on_days(&conn, 0..6);
    let h = host(&conn, "a.example");
    assert_eq!((h.failure_days, h.unavailable), (6, false));
    fail_on_days(&conn, [6]);
    let h = host(&conn, "a.example");
    assert_eq!((h.failure_days, h.unavailable), (7, true));
    let day7 = T0 + 7 * DAY_MS;
    assert_eq!(list_unavailable_hosts(&conn, day7).unwrap(), [h]);
    // Its due job is skipped and set aside, so it is no pending work either.
    assert!(claim_all(&conn, day7).is_empty());
    let p = list_pending(&conn).unwrap().remove(0);
    assert_eq!(p.next_at, day7 + PARK_MS);
    assert!(!pending_work(&conn, day7).unwrap());
    // A Follow still goes; its success clears the mark and the set-aside job is due.
    one(&conn, "https://a.example/inbox", true, day7);
    let follow = claim_all(&conn, day7 + 1);
    assert_eq!(follow.len(), 1);
    assert!(follow[0].is_follow);
    record_success(&conn, &follow[0], day7 + 2).unwrap();
    let h = host(&conn, "a.example");
    assert_eq!(
        (h.failure_days, h.unavailable, h.last_failure_day),
        (0, false, None)
    );
    assert_eq!(list_pending(&conn).unwrap()[0].next_at, day7 + 2);
    assert_eq!(claim_all(&conn, day7 + 3).len(), 1);
}

#[test]
fn a_success_between_failure_days_starts_the_count_again() {
    let conn = Db::open_in_memory().unwrap();
    one(&conn, "https://a.example/inbox", false, T0);
    fail_on_days(&conn, 0..4);
    let job = claim_all(&conn, T0 + 4 * DAY_MS).remove(0);
    record_success(&conn, &job, T0 + 4 * DAY_MS).unwrap();
    one(&conn, "https://a.example/inbox", false, T0);
    // A failure later on the day of the success counts that day again.
    fail_on_days(&conn, 4..10);
    assert_eq!(host(&conn, "a.example").failure_days, 6);
    assert!(!host(&conn, "a.example").unavailable);
    fail_on_days(&conn, [10]);
    assert!(host(&conn, "a.example").unavailable);
}

#[test]
fn retry_host_and_inbound_traffic_clear_the_unavailable_mark() {
    for clear_by_retry in [true, false] {
        let conn = Db::open_in_memory().unwrap();
        one(&conn, "https://a.example/inbox", false, T0);
        fail_on_days(&conn, 0..7);
        let day7 = T0 + 7 * DAY_MS;
        one(&conn, "https://a.example/two", false, day7);
        one(&conn, "https://other.example/inbox", false, day7 + 50);
        assert!(claim_all(&conn, day7).is_empty());
        assert!(
            list_pending(&conn)
                .unwrap()
                .iter()
                .all(|p| p.next_at > day7)
        );
        if clear_by_retry {
            assert_eq!(retry_host(&conn, " A.Example ", day7 + 1).unwrap(), 2);
        } else {
            mark_host_alive(&conn, "a.example", day7 + 1).unwrap();
        }
        let h = host(&conn, "a.example");
        assert_eq!((h.unavailable, h.failure_days), (false, 0));
        let due: Vec<String> = list_pending(&conn)
            .unwrap()
            .into_iter()
            .filter(|p| p.next_at <= day7 + 1)
            .map(|p| p.inbox)
            .collect();
        assert_eq!(due, ["https://a.example/inbox", "https://a.example/two"]);
        assert_eq!(claim_all(&conn, day7 + 2).len(), 1);
        assert_eq!(claim_all(&conn, day7 + 3).len(), 1);
    }
}

#[test]
fn retry_host_resets_the_breaker_and_makes_jobs_due_now() {
    let conn = Db::open_in_memory().unwrap();
    one(&conn, "http://127.0.0.1:8080/inbox", false, T0);
    for n in 0..10 {
        fail_once(&conn, "127.0.0.1:8080", T0 + n);
    }
    let job = &list_pending(&conn).unwrap()[0];
    assert_eq!(job.attempts, 10);
    conn.execute("UPDATE deliveries SET next_at = ?1", [T0 + 3_600_000])
        .unwrap();
    assert!(claim_all(&conn, T0 + 20).is_empty());
    assert_eq!(retry_host(&conn, "127.0.0.1:8080", T0 + 20).unwrap(), 1);
    let h = host(&conn, "127.0.0.1:8080");
    assert_eq!((h.consecutive_fails, h.paused_until), (0, None));
    let p = &list_pending(&conn).unwrap()[0];
    assert_eq!((p.next_at, p.attempts), (T0 + 20, 10));
    assert_eq!(claim_all(&conn, T0 + 20).len(), 1);
    // A job in flight is left alone; an unknown host has nothing to retry.
    assert_eq!(retry_host(&conn, "127.0.0.1:8080", T0 + 21).unwrap(), 0);
    assert_eq!(retry_host(&conn, "nowhere.example", T0 + 21).unwrap(), 0);
}

#[test]
fn mark_host_alive_forgets_failure_days_of_an_available_host() {
    let conn = Db::open_in_memory().unwrap();
    one(&conn, "https://a.example/inbox", false, T0);
    fail_on_days(&conn, 0..3);
    mark_host_alive(&conn, "a.example", T0 + 3 * DAY_MS).unwrap();
    assert_eq!(host(&conn, "a.example").failure_days, 0);
    mark_host_alive(&conn, "unknown.example", T0).unwrap();
    assert_eq!(find_host(&conn, "unknown.example").unwrap(), None);
}

#[test]
fn old_due_jobs_expire() {
    let conn = Db::open_in_memory().unwrap();
    one(&conn, "https://a.example/old", false, T0);
    one(&conn, "https://a.example/new", false, T0 + 10);
    one(&conn, "https://b.example/old-not-due", false, T0);
    conn.execute(
        "UPDATE deliveries SET next_at = ?1 WHERE inbox LIKE '%not-due'",
        [T0 + 1000],
    )
    .unwrap();
    let gone = drop_expired(&conn, T0 + 1, T0 + 500).unwrap();
    assert_eq!(gone.len(), 1);
    assert_eq!(gone[0].inbox, "https://a.example/old");
    assert_eq!(list_pending(&conn).unwrap().len(), 2);
}
