//! Vertex interning: (kind, namespace, name) ↔ dense `u32` ids, so that edges are three
//! integers and the path search touches no strings.

use crate::authz::VertexKind;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// Dense vertex id.
pub type VertexId = u32;

/// The multiply-rotate hash of rustc (`FxHash`): building a graph of a large cluster is
/// dominated by hashing names, and SipHash's protection against chosen keys buys nothing for
/// the user's own dump and logs.
#[derive(Default, Clone, Copy)]
pub struct FxHasher {
    hash: u64,
}

const FX_SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

impl FxHasher {
    fn add(&mut self, word: u64) {
        self.hash = (self.hash.rotate_left(5) ^ word).wrapping_mul(FX_SEED);
    }
}

impl Hasher for FxHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            self.add(u64::from_le_bytes(w));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut w = [0u8; 8];
            w[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(w));
        }
    }
    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }
    fn write_u32(&mut self, i: u32) {
        self.add(u64::from(i));
    }
    fn write_u64(&mut self, i: u64) {
        self.add(i);
    }
    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }
    fn finish(&self) -> u64 {
        self.hash
    }
}

/// A `HashMap` with [`FxHasher`].
pub type FxHashMap<K, V> = HashMap<K, V, BuildHasherDefault<FxHasher>>;

/// Interned strings and vertices. Namespaces and names share one string table; the empty
/// string (cluster-scoped objects) is id 0.
#[derive(Debug, Clone)]
pub struct Interner {
    strings: Vec<Box<str>>,
    string_ids: FxHashMap<Box<str>, u32>,
    vertices: Vec<(VertexKind, u32, u32)>,
    vertex_ids: FxHashMap<(VertexKind, u32, u32), VertexId>,
}

impl Default for Interner {
    fn default() -> Self {
        let mut i = Interner {
            strings: Vec::new(),
            string_ids: FxHashMap::default(),
            vertices: Vec::new(),
            vertex_ids: FxHashMap::default(),
        };
        i.string("");
        i
    }
}

impl Interner {
    fn string(&mut self, s: &str) -> u32 {
        if let Some(&id) = self.string_ids.get(s) {
            return id;
        }
        let id = self.strings.len() as u32;
        self.strings.push(s.into());
        self.string_ids.insert(s.into(), id);
        id
    }

    /// The id of a vertex, created on first use.
    pub fn vertex(&mut self, kind: VertexKind, namespace: &str, name: &str) -> VertexId {
        let key = (kind, self.string(namespace), self.string(name));
        if let Some(&id) = self.vertex_ids.get(&key) {
            return id;
        }
        let id = self.vertices.len() as VertexId;
        self.vertices.push(key);
        self.vertex_ids.insert(key, id);
        id
    }

    /// The id of an existing vertex.
    pub fn find(&self, kind: VertexKind, namespace: &str, name: &str) -> Option<VertexId> {
        let ns = *self.string_ids.get(namespace)?;
        let name = *self.string_ids.get(name)?;
        self.vertex_ids.get(&(kind, ns, name)).copied()
    }

    /// Number of vertices.
    pub fn len(&self) -> usize {
        self.vertices.len()
    }

    /// Whether there are no vertices.
    pub fn is_empty(&self) -> bool {
        self.vertices.is_empty()
    }

    /// (kind, namespace, name) of a vertex.
    pub fn get(&self, id: VertexId) -> (VertexKind, &str, &str) {
        match self.vertices.get(id as usize) {
            Some(&(k, ns, name)) => (k, self.str(ns), self.str(name)),
            None => (VertexKind::Node, "", ""),
        }
    }

    fn str(&self, id: u32) -> &str {
        self.strings.get(id as usize).map_or("", |s| s)
    }

    /// `<kind> <ns>/<name>`, or `<kind> <name>` for cluster-scoped vertices.
    pub fn render(&self, id: VertexId) -> String {
        let (kind, ns, name) = self.get(id);
        if ns.is_empty() {
            format!("{} {name}", kind.as_str())
        } else {
            format!("{} {ns}/{name}", kind.as_str())
        }
    }
}
