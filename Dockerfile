# printlab's container image: the one `printlab` binary on a small runtime base, non-root, with
# its data folder as a volume. Build: `docker build -t printlab:0.1.0 .`
# Run the whole lab:   docker run -p 8443:8443 -p 8631:8631 -v printlab:/data printlab:0.1.0
# Kubernetes (the cloud and sharded fleets): deploy/kubernetes/, described in the README.

FROM rust:1.95-slim-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked --bin printlab \
    && mkdir -p /out/data \
    && cp target/release/printlab /out/printlab

# glibc and libgcc are all the binary links (TLS is rustls on aws-lc, built in); distroless
# cc has them, CA certificates, and no shell or package manager.
FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /out/printlab /usr/local/bin/printlab
COPY --from=build --chown=65532:65532 /out/data /data
# distroless's "nonroot" user; Kubernetes' fsGroup gives it the volume.
USER 65532:65532
WORKDIR /data
VOLUME ["/data"]
# The data folder (`spool`, under /data) and every address the lab binds come from here, so
# `docker run -e PRINTLAB_PUBLIC_URL=http://host:8443` is all a lab on another host needs.
ENV HOME=/data \
    PRINTLAB_LISTEN=0.0.0.0:8443 \
    PRINTLAB_IPP_LISTEN=0.0.0.0:8631 \
    PRINTLAB_PUBLIC_URL=http://localhost:8443
EXPOSE 8443 8631
ENTRYPOINT ["/usr/local/bin/printlab"]
CMD ["up"]
