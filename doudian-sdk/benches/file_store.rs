//! Cost of one load and one save in a `FileTokenStore` holding 1,000 or 100,000 shops:
//! one file per shop (`per_shop`) against a shop still in the single `tokens.json` of
//! earlier versions (`single_file`, which is read, and rewritten on the shop's move, whole).
//!
//! `cargo bench -p doudian-sdk --no-default-features --bench file_store -- --warm-up-time 1 --measurement-time 3`
//!
//! The stores are built once under the target directory and reused by later runs.

use std::hint::black_box;
use std::io::Write;
use std::path::{Path, PathBuf};

use criterion::{criterion_group, criterion_main, BatchSize, BenchmarkId, Criterion, SamplingMode};
use doudian_sdk::token::{FileTokenStore, StoredToken, TokenStore};

const SHOP_COUNTS: [u64; 2] = [1_000, 100_000];

fn token_json(shop: u64) -> String {
    format!(
        r#"{{"access_token":"at-{shop}-0123456789abcdef0123456789abcdef","refresh_token":"rt-{shop}-0123456789abcdef0123456789abcdef","expires_at":1900000000,"refresh_expires_at":1900600000,"shop_id":"{shop}","shop_name":"shop {shop}","scope":"SCOPE","authority_id":""}}"#
    )
}

fn token(shop: u64) -> StoredToken {
    serde_json::from_str(&token_json(shop)).unwrap()
}

/// A directory for `name` under the target directory; `build` fills it unless an earlier
/// run did.
fn prepared(name: &str, build: impl FnOnce(&Path)) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("file-store-bench").join(name);
    let done = dir.join(".complete");
    if !done.exists() {
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        build(&dir);
        std::fs::write(&done, b"").unwrap();
    }
    dir
}

/// `shops` shops, one file each (the layout `FileTokenStore` documents), written directly:
/// saving them one by one would sync 100,000 files.
fn per_shop_store(shops: u64) -> FileTokenStore {
    let dir = prepared(&format!("per-shop-{shops}"), |dir| {
        let shop_dir = dir.join("tokens.json.d");
        std::fs::create_dir_all(&shop_dir).unwrap();
        for shop in 0..shops {
            std::fs::write(shop_dir.join(format!("{shop}.json")), token_json(shop)).unwrap();
        }
    });
    FileTokenStore::new(dir.join("tokens.json"))
}

/// `shops` shops in the single file of earlier versions, kept pristine in `tokens.json.orig`.
fn single_file_store(shops: u64) -> (FileTokenStore, PathBuf) {
    let dir = prepared(&format!("single-file-{shops}"), |dir| {
        let mut file = std::io::BufWriter::new(std::fs::File::create(dir.join("tokens.json.orig")).unwrap());
        file.write_all(b"{").unwrap();
        for shop in 0..shops {
            let comma = if shop == 0 { "" } else { "," };
            write!(file, "{comma}\n\"{shop}\":{}", token_json(shop)).unwrap();
        }
        file.write_all(b"\n}").unwrap();
        file.flush().unwrap();
    });
    let (path, pristine) = (dir.join("tokens.json"), dir.join("tokens.json.orig"));
    std::fs::copy(&pristine, &path).unwrap();
    let _ = std::fs::remove_dir_all(dir.join("tokens.json.d"));
    (FileTokenStore::new(path), pristine)
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap()
}

/// Loads one shop after another, striding across all `shops`.
fn load_each(b: &mut criterion::Bencher, rt: &tokio::runtime::Runtime, store: &FileTokenStore, shops: u64) {
    let mut shop = 0;
    b.iter(|| {
        shop = (shop + 7919) % shops;
        black_box(rt.block_on(store.load(&shop.to_string())).unwrap().unwrap())
    })
}

fn file_store(c: &mut Criterion) {
    let rt = runtime();
    let mut group = c.benchmark_group("load");
    group.sample_size(10).sampling_mode(SamplingMode::Flat);
    for shops in SHOP_COUNTS {
        group.bench_with_input(BenchmarkId::new("per_shop", shops), &shops, |b, &shops| {
            load_each(b, &rt, &per_shop_store(shops), shops)
        });
        group.bench_with_input(BenchmarkId::new("single_file", shops), &shops, |b, &shops| {
            load_each(b, &rt, &single_file_store(shops).0, shops)
        });
    }
    group.finish();

    let mut group = c.benchmark_group("save");
    group.sample_size(10).sampling_mode(SamplingMode::Flat);
    for shops in SHOP_COUNTS {
        group.bench_with_input(BenchmarkId::new("per_shop", shops), &shops, |b, &shops| {
            let store = per_shop_store(shops);
            let mut shop = 0;
            b.iter(|| {
                shop = (shop + 7919) % shops;
                rt.block_on(store.save(&shop.to_string(), &token(shop))).unwrap()
            })
        });
        // The first save of a shop still in the single file: its own file is written and the
        // single file rewritten without it, as every save of earlier versions rewrote it.
        group.bench_with_input(BenchmarkId::new("single_file", shops), &shops, |b, &shops| {
            let (store, pristine) = single_file_store(shops);
            let mut shop = 0;
            b.iter_batched(
                || {
                    shop = (shop + 7919) % shops;
                    std::fs::copy(&pristine, store.path()).unwrap();
                    let _ = std::fs::remove_file(store.token_path(&shop.to_string()));
                    shop
                },
                |shop| rt.block_on(store.save(&shop.to_string(), &token(shop))).unwrap(),
                BatchSize::PerIteration,
            )
        });
    }
    group.finish();
}

criterion_group!(benches, file_store);
criterion_main!(benches);
