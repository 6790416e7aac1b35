# TLS for the Docker daemon on {{ host }} (Docker docs "Protect the Docker daemon socket", https://docs.docker.com/engine/security/protect-access/; docs/targets/tls.md).
# Run on a trusted machine; keep ca-key.pem offline. Put ca.pem, server-cert.pem and server-key.pem
# on the daemon host at the paths daemon.json names, and give clients ca.pem, cert.pem, key.pem.
export HOST={{ host }}
openssl genrsa -aes256 -out ca-key.pem 4096
openssl req -new -x509 -days 365 -key ca-key.pem -sha256 -out ca.pem
openssl genrsa -out server-key.pem 4096
openssl req -subj "/CN=$HOST" -sha256 -new -key server-key.pem -out server.csr
echo "subjectAltName = DNS:$HOST,IP:127.0.0.1" > extfile.cnf
echo "extendedKeyUsage = serverAuth" >> extfile.cnf
openssl x509 -req -days 365 -sha256 -in server.csr -CA ca.pem -CAkey ca-key.pem \
  -CAcreateserial -out server-cert.pem -extfile extfile.cnf
openssl genrsa -out key.pem 4096
openssl req -subj '/CN=client' -new -key key.pem -out client.csr
echo "extendedKeyUsage = clientAuth" > extfile-client.cnf
openssl x509 -req -days 365 -sha256 -in client.csr -CA ca.pem -CAkey ca-key.pem \
  -CAcreateserial -out cert.pem -extfile extfile-client.cnf
chmod 0400 ca-key.pem key.pem server-key.pem
sudo install -m 0444 ca.pem server-cert.pem /etc/docker/ && sudo install -m 0400 server-key.pem /etc/docker/
sudo systemctl restart docker
# Clients: DOCKER_HOST=tcp://$HOST:2376 DOCKER_TLS_VERIFY=1 DOCKER_CERT_PATH=<dir with ca.pem cert.pem key.pem>
