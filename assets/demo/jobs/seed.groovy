// Job DSL seed: a nightly freestyle job that rebuilds the acme-shop image on a static agent.
job('acme-shop-nightly-image') {
  description('Nightly rebuild with fresh base images')
  label('docker')
  scm {
    git('https://git.acme.example/acme/shop.git', 'main')
  }
  triggers {
    cron('H 2 * * *')
  }
  steps {
    shell('sudo docker build --pull -t registry.acme.example/shop:nightly .')
    shell('sudo docker run --rm -v /var/run/docker.sock:/var/run/docker.sock registry.acme.example/image-scanner:1.4 registry.acme.example/shop:nightly')
    shell('docker push registry.acme.example/shop:nightly')
  }
}
