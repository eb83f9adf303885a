//! A build on many threads gives exactly the bytes of a build on one thread:
//! rendering and writing are parallel, but no output may depend on the order
//! in which threads finish.

mod common;

use std::process::Command;

#[test]
fn parallel_build_is_byte_identical_to_single_threaded() {
    let dir = tempfile::tempdir().unwrap();
    let site = dir.path().join("site");
    common::copy_example_site(&site);
    let mut trees = Vec::new();
    for threads in ["1", "4"] {
        let out = dir.path().join(format!("out-{threads}"));
        let run = Command::new(env!("CARGO_BIN_EXE_vitrine"))
            .args(["build", "--site", site.to_str().unwrap(), "--out", out.to_str().unwrap()])
            .env("VITRINE_NOW", common::NOW)
            .env("RAYON_NUM_THREADS", threads)
            .output()
            .unwrap();
        assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
        let mut files: Vec<(String, Vec<u8>)> = common::walkdir(&out)
            .into_iter()
            .map(|p| (p.strip_prefix(&out).unwrap().to_string_lossy().into_owned(), std::fs::read(&p).unwrap()))
            .collect();
        files.sort();
        assert!(files.len() > 100, "{} files", files.len());
        trees.push(files);
    }
    let (one, many) = (&trees[0], &trees[1]);
    let names = |t: &Vec<(String, Vec<u8>)>| t.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>();
    assert_eq!(names(one), names(many));
    for ((name, a), (_, b)) in one.iter().zip(many) {
        assert!(a == b, "{name} differs between 1 and 4 threads");
    }
}
