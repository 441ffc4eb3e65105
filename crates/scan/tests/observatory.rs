//! The header grade against the Observatory's published point values, on
//! header sets whose scores are worked out by hand in each case's comment:
//! start at 100, add the penalties, floor at 0, add the bonuses only from
//! 90 up, read the grade off the chart.

use scan::observatory::{grade, grade_of, score_of, Observed, Redirection};
use url::Url;

const HSTS_YEAR: (&str, &str) = ("Strict-Transport-Security", "max-age=31536000");
const NOSNIFF: (&str, &str) = ("X-Content-Type-Options", "nosniff");
const DENY: (&str, &str) = ("X-Frame-Options", "DENY");

struct Case {
    name: &'static str,
    url: &'static str,
    headers: Vec<(&'static str, &'static str)>,
    cookies: Vec<&'static str>,
    html: Option<&'static str>,
    cert_valid: bool,
    redirection: Redirection,
    cors: Option<Vec<(&'static str, &'static str)>>,
    score: i32,
    grade: &'static str,
}

fn case(
    name: &'static str,
    headers: Vec<(&'static str, &'static str)>,
    score: i32,
    grade: &'static str,
) -> Case {
    Case {
        name,
        url: "https://shop.example/",
        headers,
        cookies: vec![],
        html: None,
        cert_valid: true,
        redirection: Redirection::ToHttps,
        cors: None,
        score,
        grade,
    }
}

fn owned(h: &[(&str, &str)]) -> Vec<(String, String)> {
    h.iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn run(c: &Case) -> scan::observatory::HeaderGrade {
    let url = Url::parse(c.url).unwrap();
    let mut headers = owned(&c.headers);
    if c.html.is_some() {
        headers.push(("Content-Type".into(), "text/html; charset=utf-8".into()));
    }
    let cookies: Vec<String> = c.cookies.iter().map(|s| s.to_string()).collect();
    let cors = c.cors.as_ref().map(|h| owned(h));
    grade(&Observed {
        url: &url,
        headers: &headers,
        set_cookies: &cookies,
        html: c.html,
        cert_valid: c.cert_valid,
        redirection: c.redirection,
        cors_headers: cors.as_deref(),
    })
}

#[test]
fn header_sets_score_as_worked_out_by_hand() {
    let cases = vec![
        // No headers at all: CSP -25, HSTS -20, XCTO -5, XFO -20 = -70 → 30, D.
        case("bare", vec![], 30, "D"),
        // Everything right: no penalty → 100 ≥ 90, so the bonuses count:
        // CSP default-src 'none' + form-action +10, cookies +5, referrer +5,
        // SRI (same-origin, with integrity) +5, XFO via frame-ancestors +5,
        // CORP +10 → 140, A+.
        Case {
            cookies: vec!["sessionid=abc; Path=/; Secure; HttpOnly; SameSite=Lax"],
            html: Some(r#"<html><script src="/app.js" integrity="sha384-abc"></script></html>"#),
            ..case(
                "complete",
                vec![
                    ("Content-Security-Policy", "default-src 'none'; script-src 'self'; object-src 'none'; form-action 'self'; frame-ancestors 'none'"),
                    ("Referrer-Policy", "no-referrer"),
                    ("Strict-Transport-Security", "max-age=63072000; includeSubDomains; preload"),
                    NOSNIFF,
                    ("Cross-Origin-Resource-Policy", "same-origin"),
                ],
                140,
                "A+",
            )
        },
        // 'unsafe-inline' in script-src -20 → 80 < 90: the referrer (+5) and
        // CORP (+10) bonuses are not added → 80, B+.
        case(
            "unsafe-inline",
            vec![
                ("Content-Security-Policy", "default-src 'self'; script-src 'self' 'unsafe-inline'"),
                ("Referrer-Policy", "strict-origin-when-cross-origin"),
                ("Cross-Origin-Resource-Policy", "same-site"),
                HSTS_YEAR, NOSNIFF, DENY,
            ],
            80,
            "B+",
        ),
        // HSTS of one day -10 → 90, so bonuses count: CSP without unsafe +5,
        // referrer +5 → 100, A+.
        case(
            "bonus-at-ninety",
            vec![
                ("Content-Security-Policy", "default-src 'self'; object-src 'none'"),
                ("Referrer-Policy", "same-origin"),
                ("Strict-Transport-Security", "max-age=86400"),
                NOSNIFF,
                ("X-Frame-Options", "SAMEORIGIN"),
            ],
            100,
            "A+",
        ),
        // PHPSESSID without Secure (HSTS on: -10) and without HttpOnly (-30):
        // the worst, -30, counts; CSP -25, XCTO -5, XFO -20 → 100-80 = 20, F.
        Case {
            cookies: vec!["PHPSESSID=1; path=/"],
            ..case("session-cookie", vec![HSTS_YEAR], 20, "F")
        },
        // Plain HTTP: no redirect -20, HSTS impossible -20, CSP -25, a
        // non-session cookie over HTTP -20 → 15, F.
        Case {
            url: "http://shop.example/",
            redirection: Redirection::Missing,
            cookies: vec!["cart=1"],
            ..case("plain-http", vec![NOSNIFF, DENY], 15, "F")
        },
        // Any origin reflected with credentials -50 → 50, C (CSP +5 unused).
        Case {
            cors: Some(vec![
                ("Access-Control-Allow-Origin", "https://rampart-cors-probe.invalid"),
                ("Access-Control-Allow-Credentials", "true"),
            ]),
            ..case(
                "cors-universal",
                vec![
                    ("Content-Security-Policy", "default-src 'self'; object-src 'none'"),
                    HSTS_YEAR, NOSNIFF, DENY,
                ],
                50,
                "C",
            )
        },
        // An external script over http without SRI -50, no CSP -25 → 25, D-.
        Case {
            html: Some(r#"<html><script src="http://cdn.example/x.js"></script></html>"#),
            ..case("sri-http-script", vec![HSTS_YEAR, NOSNIFF, DENY], 25, "D-")
        },
        // unsafe-eval -10, external https script without SRI -5, unsafe-url
        // -5, CORP unrecognised -5, XCTO unrecognised -5 → 70, B.
        Case {
            html: Some(r#"<html><script src="https://cdn.example/lib.js"></script></html>"#),
            ..case(
                "many-small",
                vec![
                    ("Content-Security-Policy", "default-src 'self'; script-src 'self' 'unsafe-eval' https://cdn.example; object-src 'none'"),
                    ("Referrer-Policy", "unsafe-url"),
                    ("Cross-Origin-Resource-Policy", "bogus"),
                    ("X-Content-Type-Options", "nosniffx"),
                    HSTS_YEAR, DENY,
                ],
                70,
                "B",
            )
        },
        // Invalid certificate: redirection -20, HSTS cannot apply -20 → 60, C+.
        Case {
            cert_valid: false,
            redirection: Redirection::InvalidCert,
            ..case(
                "invalid-cert",
                vec![
                    ("Content-Security-Policy", "default-src 'self'; object-src 'none'"),
                    HSTS_YEAR, NOSNIFF, DENY,
                ],
                60,
                "C+",
            )
        },
        // CSP unparseable -25, HSTS without a number -20, XFO ALLOW-FROM 0 → 55, C.
        case(
            "invalid-headers",
            vec![
                ("Content-Security-Policy", "default-src 'self'; scr!pt-src x"),
                ("Strict-Transport-Security", "max-age=abc"),
                ("X-Frame-Options", "ALLOW-FROM https://partner.example"),
                NOSNIFF,
            ],
            55,
            "C",
        ),
        // CSP allows http:// scripts (via default-src) -20, SameSite=Sideways -20 → 60, C+.
        Case {
            cookies: vec!["__Host-id=1; Path=/; Secure; HttpOnly; SameSite=Sideways"],
            ..case(
                "insecure-scheme",
                vec![
                    ("Content-Security-Policy", "default-src 'self' http://cdn.example; object-src 'none'"),
                    HSTS_YEAR, NOSNIFF, DENY,
                ],
                60,
                "C+",
            )
        },
        // Images over http only -10 → 90; referrer's last known token is
        // strict-origin-when-cross-origin +5 → 95, A.
        case(
            "passive-insecure",
            vec![
                ("Content-Security-Policy", "default-src 'self'; img-src http:; object-src 'none'"),
                ("Referrer-Policy", "no-referrer-when-downgrade, strict-origin-when-cross-origin"),
                HSTS_YEAR, NOSNIFF, DENY,
            ],
            95,
            "A",
        ),
        // Anti-CSRF cookie without SameSite -20 → 80, B+.
        Case {
            cookies: vec!["csrftoken=abc; Path=/; Secure"],
            ..case(
                "anticsrf",
                vec![
                    ("Content-Security-Policy", "default-src 'self'; object-src 'none'"),
                    HSTS_YEAR, NOSNIFF, DENY,
                ],
                80,
                "B+",
            )
        },
        // Redirect to another host first -5, no XCTO -5 → 90; CSP +5 → 95, A.
        Case {
            redirection: Redirection::OffHostFromHttp,
            ..case(
                "off-host",
                vec![
                    ("Content-Security-Policy", "default-src 'self'; object-src 'none'"),
                    HSTS_YEAR, DENY,
                ],
                95,
                "A",
            )
        },
    ];
    assert!(cases.len() >= 10);
    let mut failures = Vec::new();
    for c in &cases {
        let g = run(c);
        if g.score != c.score || g.grade != c.grade {
            failures.push(format!(
                "{}: got {} {} expected {} {}; tests: {:?}",
                c.name,
                g.score,
                g.grade,
                c.score,
                c.grade,
                g.tests
                    .iter()
                    .map(|t| format!("{}={}", t.result, t.modifier))
                    .collect::<Vec<_>>()
            ));
        }
        assert_eq!(g.tests.len(), 10, "{}: ten tests", c.name);
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn score_floor_and_grade_chart() {
    assert_eq!(score_of([-50, -40, -25, -20, 10].into_iter()), 0);
    assert_eq!(score_of([-10, 5].into_iter()), 95);
    assert_eq!(score_of([-15, 5].into_iter()), 85);
    for (score, g) in [
        (145, "A+"),
        (100, "A+"),
        (99, "A"),
        (90, "A"),
        (89, "A-"),
        (85, "A-"),
        (84, "B+"),
        (80, "B+"),
        (79, "B"),
        (70, "B"),
        (69, "B-"),
        (65, "B-"),
        (64, "C+"),
        (60, "C+"),
        (59, "C"),
        (50, "C"),
        (49, "C-"),
        (45, "C-"),
        (44, "D+"),
        (40, "D+"),
        (39, "D"),
        (30, "D"),
        (29, "D-"),
        (25, "D-"),
        (24, "F"),
        (0, "F"),
    ] {
        assert_eq!(grade_of(score), g, "score {score}");
    }
}
