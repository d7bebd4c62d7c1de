//! nftables scripts: the parser, then the loader with every include resolving to the same
//! input (include loops, depth and file-count bounds are exercised), then the rule queries.
#![no_main]
use jikimi::facts::firewall::nft;
use jikimi::facts::origin::LineError;
use libfuzzer_sys::fuzz_target;

struct Same(String);

impl nft::Source for Same {
    fn read(&self, _: &str) -> Result<String, LineError> {
        Ok(self.0.clone())
    }
    fn glob(&self, pattern: &str) -> Result<Vec<String>, LineError> {
        Ok(vec![pattern.replace('*', "x")])
    }
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data).into_owned();
    let _ = nft::parse(&text, "/etc/nftables.conf");
    if let Ok(rs) = nft::Loader::new(&Same(text)).load("/etc/nftables.conf") {
        for hook in ["input", "forward", "output"] {
            for (t, c) in rs.base_chains(hook) {
                for r in rs.reachable_rules(t, c) {
                    let _ = r.verdict();
                    let _ = r.values_after(&["tcp", "dport"]);
                    let _ = r.values_after(&["ct", "state"]);
                }
            }
        }
    }
});
