use std::path::Path;
fn main() {
    let root = Path::new("/work/shared/corpus/nginx-configs");
    let manifest = std::fs::read_to_string(root.join("MANIFEST.tsv")).unwrap();
    let (mut ok, mut bad) = (0, 0);
    for line in manifest.lines().skip(1) {
        let cols: Vec<&str> = line.split('\t').collect();
        let path = cols[0];
        let text = std::fs::read(root.join(path)).unwrap();
        match badgateway_conf::parse(&text, badgateway_conf::FileId(0)) {
            Ok(_) => ok += 1,
            Err(e) => { bad += 1; println!("{path}:{}:{}: {}\n    nginx: {}\n    xp: {}\n    notes: {}", e.line, e.col, e.kind, cols[7], cols[6], cols.get(9).unwrap_or(&"")); }
        }
    }
    println!("ok {ok} rejected {bad}");
}
