# Install Sysbox {{ v.sysbox }} on the nodes that run {{ what }} (https://github.com/nestybox/sysbox/blob/master/docs/user-guide/install-k8s.md; docs/targets/sysbox.md, nestybox/sysbox
# docs/user-guide/install-k8s.md). Supported: Kubernetes v1.32–v1.35, Ubuntu worker nodes.
# containerd ≥ 2.0.5 is used as is; otherwise the installer switches the node to CRI-O and
# restarts the kubelet (every pod on the node is recreated).
kubectl label nodes <node> sysbox-install=yes
kubectl apply -f https://raw.githubusercontent.com/nestybox/sysbox/master/sysbox-k8s-manifests/sysbox-install.yaml
# The manifest creates the RuntimeClass below; pods using it only schedule on nodes labelled
# sysbox-runtime=running.
kubectl get runtimeclass {{ v.sysbox_runtime }}
