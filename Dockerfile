# expvar-collector image: built on debian:bookworm, run on debian:bookworm-slim.
#   scripts/image.sh                       builds it with Debian's podman and smoke-tests it
#   docker build -t expvar-collector .     anywhere a Docker engine and a registry are reachable
#   podman build -t expvar-collector .     OCI format (the default) or --format docker: no SHELL,
#                                          HEALTHCHECK or other Docker-only instruction is used
# Other architectures: --platform linux/arm64 (docker buildx, podman/buildah; needs the target's
# base images and, on another host architecture, qemu-user-static binfmt). Nothing here names an
# architecture: Debian's package names and /usr/local/bin are the same on every one, and the
# build stage compiles natively for the platform it runs as (slow under emulation).
# `docker run IMAGE` runs the daemon (ENTRYPOINT expvar-collector, CMD run); `docker run IMAGE
# check conf.yaml`, `... discover --pods pods.json` or `... --version` run another subcommand, and
# Kubernetes args replace CMD, so they start with `run`.
# The image runs as uid 65532, writes nothing outside /tmp (works with readOnlyRootFilesystem)
# and has no HEALTHCHECK: Kubernetes probes /healthz and /readyz on port 9145.

ARG DEBIAN_RELEASE=bookworm

# ---- build: the same CMake build as scripts/test.sh, without tests and benchmarks -------------
FROM debian:${DEBIAN_RELEASE} AS build
ARG JOBS=2
# The git revision --version prints (the build context holds no .git to read it from).
ARG REVISION=unknown
WORKDIR /src
# The package list lives in scripts/packages.sh (BUILD_PACKAGES, a bash array), shared with
# scripts/test.sh. bash is named here rather than through SHELL, which the OCI image format
# (podman's and buildah's default) does not carry.
COPY scripts/packages.sh scripts/packages.sh
RUN bash -o pipefail -c 'source scripts/packages.sh \
 && apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${BUILD_PACKAGES[@]}" \
 && rm -rf /var/lib/apt/lists/*'
COPY CMakeLists.txt ./
COPY bench bench
COPY cmd cmd
COPY lib lib
RUN cmake -S . -B build -G Ninja -DEXPVAR_BUILD_TESTS=OFF -DEXPVAR_BUILD_BENCH=OFF -DEXPVAR_REVISION="${REVISION}" \
      -DCMAKE_BUILD_TYPE=Release \
 && cmake --build build --target expvar-collector --parallel "${JOBS}" \
 && strip build/expvar-collector \
 && build/expvar-collector --version

# ---- runtime ------------------------------------------------------------------------------------
FROM debian:${DEBIAN_RELEASE}-slim AS runtime
ARG DEBIAN_RELEASE
ARG VERSION=0.1.0
ARG REVISION=unknown
# RFC 3339 build time (scripts/image.sh passes it); empty when not given.
ARG CREATED=""
# RUNTIME_LIBS is exactly the set of Debian packages owning the libraries that
# `ldd build/expvar-collector` lists; tests/packaging/runtime_libs_test.sh fails when they differ.
ARG RUNTIME_LIBS="libboost-json1.81.0 libboost-program-options1.81.0 libboost-url1.81.0 libc6 libcrypt1 libfmt9 libgcc-s1 libprometheus-cpp-core1.0 libre2-9 libspdlog1.10 libssl3 libstdc++6 libyaml-cpp0.7 zlib1g"
# Not linked, but needed: the CA bundle for HTTPS targets (tls_verify uses the system store).
ARG RUNTIME_EXTRAS="ca-certificates"
LABEL org.opencontainers.image.title="expvar-collector" \
      org.opencontainers.image.description="Kubernetes-native collector for Go expvar endpoints: Datadog go_expvar semantics, DogStatsD and Prometheus output" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.documentation="README.md, helm/expvar-collector/README.md, deploy/README.md in the source tree" \
      org.opencontainers.image.base.name="debian:${DEBIAN_RELEASE}-slim"
# Word splitting of the two lists is intended.
# hadolint ignore=SC2086
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ${RUNTIME_LIBS} ${RUNTIME_EXTRAS} \
 && apt-get clean \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/* /var/log/apt /var/log/dpkg.log
COPY --from=build /src/build/expvar-collector /usr/local/bin/expvar-collector
USER 65532:65532
WORKDIR /tmp
ENV HOME=/tmp
EXPOSE 9145
ENTRYPOINT ["expvar-collector"]
CMD ["run"]
