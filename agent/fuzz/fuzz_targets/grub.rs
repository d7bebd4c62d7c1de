//! /etc/default/grub shell assignments, grub.cfg and kernel command lines.
#![no_main]
use jikimi::facts::grub::{parse_cfg, parse_default, parse_env, split_cmdline, DefaultGrub};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut d = DefaultGrub::default();
    parse_default(&text, "/etc/default/grub", &mut d);
    let _ = d.cmdlines();
    let env = parse_env(&text);
    let cfg = parse_cfg(&text, "/boot/grub/grub.cfg", &env);
    for l in &cfg.linux {
        let _ = split_cmdline(&l.params);
    }
    let _ = split_cmdline(&text);
});
