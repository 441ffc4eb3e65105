//! A whole raw HTTP/1.1 request (`seclang::http1::parse`, then `feed`)
//! through a small fixed rule set that reads ARGS, REQUEST_BODY, FILES,
//! XML and the body error variables, with the body processor chosen from
//! the Content-Type as CRS does. Never a panic, and a malformed JSON body
//! always leaves REQBODY_ERROR set.
#![no_main]

use libfuzzer_sys::fuzz_target;
use seclang::{http1, Connection, RuleSet, RuleSetBuilder, Transaction};
use std::path::Path;
use std::sync::{Arc, OnceLock};

const RULES: &str = r#"
SecRuleEngine On
SecRequestBodyAccess On
SecRequestBodyLimit 65536
SecRequestBodyNoFilesLimit 32768
SecRequestBodyLimitAction ProcessPartial
SecRule REQUEST_HEADERS:Content-Type "@rx (?i)^(?:application/json|[^;]*\+json)" \
    "id:100,phase:1,pass,nolog,ctl:requestBodyProcessor=JSON"
SecRule REQUEST_HEADERS:Content-Type "@rx (?i)^(?:application|text)/xml" \
    "id:101,phase:1,pass,nolog,ctl:requestBodyProcessor=XML"
SecRule REQBODY_ERROR "!@eq 0" "id:200,phase:2,pass,log,msg:'body error %{REQBODY_ERROR_MSG}'"
SecRule REQBODY_ERROR_MSG "@rx ." "id:201,phase:2,pass,log"
SecRule MULTIPART_STRICT_ERROR "!@eq 0" "id:202,phase:2,pass,log"
SecRule MULTIPART_UNMATCHED_BOUNDARY "@eq 1" "id:203,phase:2,pass,log"
SecRule ARGS|ARGS_NAMES "@rx (?i)<script" "id:300,phase:2,pass,log,t:none,t:urlDecodeUni,t:htmlEntityDecode,t:lowercase"
SecRule ARGS "@detectSQLi" "id:301,phase:2,pass,log,t:none,t:utf8toUnicode,t:urlDecodeUni,t:removeNulls"
SecRule REQUEST_BODY "@pm union select" "id:302,phase:2,pass,log,t:none,t:lowercase,t:compressWhitespace"
SecRule FILES|FILES_NAMES "@rx \.php$" "id:303,phase:2,pass,log,t:none,t:lowercase"
SecRule &FILES "@gt 1" "id:304,phase:2,pass,log"
SecRule FILES_SIZES "@gt 10" "id:305,phase:2,pass,log"
SecRule XML:/* "@contains attack" "id:306,phase:2,pass,log,t:none,t:lowercase"
SecRule XML://@* "@rx ^x" "id:307,phase:2,pass,log"
SecRule REQUEST_COOKIES|REQUEST_COOKIES_NAMES "@detectXSS" "id:308,phase:2,pass,log,t:none,t:jsDecode,t:cssDecode"
SecRule REQUEST_FILENAME "@rx \.\./" "id:309,phase:1,pass,log,t:none,t:normalisePath,t:urlDecodeUni"
SecRule ARGS:/^id/ "@validateByteRange 32-126" "id:310,phase:2,pass,log"
SecRule REQUEST_URI_RAW|QUERY_STRING "@validateUrlEncoding" "id:311,phase:1,pass,log"
SecRule ARGS "@validateUtf8Encoding" "id:312,phase:2,pass,log,setvar:tx.score=+5"
SecRule TX:score "@ge 10" "id:313,phase:2,deny,status:403,log"
"#;

fn rules() -> Arc<RuleSet> {
    static RULESET: OnceLock<Arc<RuleSet>> = OnceLock::new();
    RULESET
        .get_or_init(|| {
            let mut b = RuleSetBuilder::new();
            b.add_text("fuzz-transaction.conf", RULES, Path::new("."))
                .expect("fixed rules load");
            Arc::new(b.build().expect("fixed rules build"))
        })
        .clone()
}

fuzz_target!(|data: &[u8]| {
    let Ok(req) = http1::parse(data) else {
        return;
    };
    let mut tx = Transaction::new(rules(), Connection::default());
    req.feed(&mut tx);
    tx.process_logging();
    let ids = tx.matched_rule_ids();
    // REQBODY_ERROR and REQBODY_ERROR_MSG agree.
    assert_eq!(
        ids.contains(&200),
        ids.contains(&201),
        "REQBODY_ERROR and REQBODY_ERROR_MSG disagree: {ids:?}"
    );
    // A JSON body serde_json rejects is a body error (ModSecurity sets
    // REQBODY_ERROR for it), unless a phase 1 rule interrupted first.
    let mut content_types = req
        .headers
        .iter()
        .filter(|(k, _)| k.eq_ignore_ascii_case(b"content-type"))
        .map(|(_, v)| v.to_ascii_lowercase());
    let content_type = match (content_types.next(), content_types.next()) {
        (Some(only), None) => Some(only),
        _ => None,
    };
    let is_json = content_type.is_some_and(|v| v.starts_with(b"application/json"));
    if is_json
        && !req.body.is_empty()
        && req.body.len() <= 32768
        && tx
            .intervention()
            .is_none_or(|i| i.phase != seclang::Phase::RequestHeaders)
        && serde_json::from_slice::<serde_json::Value>(&req.body).is_err()
    {
        assert!(
            ids.contains(&200),
            "malformed JSON body without REQBODY_ERROR: {ids:?}"
        );
    }
});
