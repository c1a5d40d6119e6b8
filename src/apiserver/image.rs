//! The Kubernetes version a kube-apiserver image runs, from its tag.

/// `1.19.16` from `registry.k8s.io/kube-apiserver:v1.19.16` (also `…-amd64:v1.14.1`,
/// `…:v1.28.2@sha256:…`). `Err` explains why there is no version: no tag (a digest alone says
/// nothing readable), or a tag that is not a version. A suffix after the version
/// (`v1.27.4-eks-1-27`, `v1.30.1+k3s1`) is dropped.
pub fn kube_version_from_image(image: &str) -> Result<String, String> {
    let (reference, digest) = match image.split_once('@') {
        Some((r, d)) => (r, Some(d)),
        None => (image, None),
    };
    // The tag follows the last ':' of the last path component (a registry port comes earlier).
    let last = reference.rsplit('/').next().unwrap_or(reference);
    let Some((_, tag)) = last.rsplit_once(':') else {
        return Err(match digest {
            Some(_) => format!(
                "image {image:?} is pinned by digest only; its Kubernetes version cannot be read from the tag"
            ),
            None => format!("image {image:?} has no tag; its Kubernetes version is unknown"),
        });
    };
    version_from_tag(tag)
        .ok_or_else(|| format!("image tag {tag:?} of {image:?} is not a Kubernetes version"))
}

/// `v1.19.16` → `1.19.16`; `v1.19` → `1.19`.
fn version_from_tag(tag: &str) -> Option<String> {
    let rest = tag.strip_prefix('v').unwrap_or(tag);
    let core_len = rest
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(rest.len());
    let core = rest.get(..core_len)?.trim_end_matches('.');
    let parts: Vec<&str> = core.split('.').collect();
    let well_formed =
        (2..=3).contains(&parts.len()) && parts.iter().all(|p| !p.is_empty() && p.len() <= 4);
    well_formed.then(|| core.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_from_tags() {
        for (image, want) in [
            ("registry.k8s.io/kube-apiserver:v1.19.16", "1.19.16"),
            ("k8s.gcr.io/kube-apiserver-amd64:v1.14.1", "1.14.1"),
            ("localhost:5000/kube-apiserver:v1.31.0", "1.31.0"),
            (
                "registry.k8s.io/kube-apiserver:v1.28.2@sha256:abcd",
                "1.28.2",
            ),
            ("eks/kube-apiserver:v1.27.4-eks-1-27", "1.27.4"),
            ("rancher/k3s:v1.30.1+k3s1", "1.30.1"),
            ("kube-apiserver:v1.19", "1.19"),
        ] {
            assert_eq!(
                kube_version_from_image(image).as_deref(),
                Ok(want),
                "{image}"
            );
        }
    }

    #[test]
    fn no_version() {
        assert_eq!(
            kube_version_from_image("registry.k8s.io/kube-apiserver@sha256:abcd"),
            Err("image \"registry.k8s.io/kube-apiserver@sha256:abcd\" is pinned by digest only; its Kubernetes version cannot be read from the tag".to_string())
        );
        assert_eq!(
            kube_version_from_image("localhost:5000/kube-apiserver"),
            Err("image \"localhost:5000/kube-apiserver\" has no tag; its Kubernetes version is unknown".to_string())
        );
        assert!(kube_version_from_image("kube-apiserver:latest").is_err());
        assert!(kube_version_from_image("kube-apiserver:v1").is_err());
        assert!(kube_version_from_image("kube-apiserver:v1.2.3.4").is_err());
    }
}
