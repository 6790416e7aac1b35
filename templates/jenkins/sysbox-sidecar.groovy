// Docker API for {{ where }} without --privileged: a dind sidecar under sysbox on the agent host
// (github.com/nestybox/sysbox/blob/master/docs/user-guide/dind.md; sidecar pattern:
// www.jenkins.io/doc/book/pipeline/docker/). The daemon speaks TLS on 2376 only: it generates its
// certificates into a per-build named volume that the client container mounts read-only
// (hub.docker.com/_/docker, "TLS"). `inside()` runs as the agent's user, so the client key is
// made readable once it exists. --link is deprecated: on engines where it misbehaves, put both
// containers on a user-defined network instead.
def certs = "dind-certs-${env.BUILD_TAG}".replaceAll('[^A-Za-z0-9_.-]', '-')
docker.image('{{ v.dind }}').withRun("--runtime={{ v.sysbox_runtime }} -e DOCKER_TLS_CERTDIR=/certs -v ${certs}:/certs/client") { d ->
  sh "docker exec ${d.id} sh -c 'until [ -s /certs/client/key.pem ]; do sleep 1; done; chmod 0644 /certs/client/key.pem'"
  docker.image('{{ v.docker_cli }}').inside("--link ${d.id}:docker -e DOCKER_HOST=tcp://docker:2376 -e DOCKER_TLS_VERIFY=1 -e DOCKER_CERT_PATH=/certs/client -v ${certs}:/certs/client:ro") {
    sh 'until docker version >/dev/null 2>&1; do sleep 1; done'
{% for c in commands %}
    sh '{{ c }}'
{% endfor %}
  }
}
sh "docker volume rm -f ${certs}"
