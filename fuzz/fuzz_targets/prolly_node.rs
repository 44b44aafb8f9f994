//! Database version nodes (`db::prolly`) from untrusted bytes: decoding never panics, a node
//! that decodes re-encodes to exactly its input (so its CID is stable) and its links are its
//! children. Reading the bytes as a one-block tree (every child missing) never panics either.
#![no_main]
use leither::db::prolly::{Body, Node, Tree, links, node_cid};
use leither::ipfs::Cid;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(node) = Node::decode(data) {
        assert_eq!(
            node.encode(),
            data,
            "a decoded node re-encodes to its input"
        );
        let children: Vec<Cid> = match &node.body {
            Body::Leaf(_) => Vec::new(),
            Body::Internal(cs) => cs.iter().map(|c| c.cid).collect(),
        };
        assert_eq!(links(data).ok(), Some(children));
    } else {
        assert!(links(data).is_err());
    }
    let root = node_cid(data);
    let tree = Tree::new(root);
    let mut fetch = |c: &Cid| Ok::<_, ()>((*c == root).then(|| data.to_vec()));
    let key = &data[..data.len().min(8)];
    let _ = tree.get(&mut fetch, key);
    let _ = tree.range(&mut fetch, key, None, data.len() % 2 == 0, &mut |_, _| true);
});
