# atcr: one compiled Bun executable in a FROM scratch image.
# BUILDER is any image with Bun on PATH and glibc at the Debian paths below (the default is the official one;
# offline builds pass a local image, as the test suite does).
ARG BUILDER=oven/bun:1.3-debian

FROM ${BUILDER} AS build
WORKDIR /src
COPY package.json bun.lock bunfig.toml tsconfig.json ./
RUN ["bun", "install", "--frozen-lockfile", "--production", "--ignore-scripts"]
COPY src ./src
COPY lexicons ./lexicons
COPY scripts/build.ts ./scripts/
RUN ["bun", "scripts/build.ts", "/out/atcr"]

FROM scratch
# The compiled binary links glibc dynamically: exactly these five files (see `ldd atcr`).
COPY --from=build /lib/x86_64-linux-gnu/libc.so.6 /lib/x86_64-linux-gnu/libpthread.so.0 /lib/x86_64-linux-gnu/libdl.so.2 /lib/x86_64-linux-gnu/libm.so.6 /lib/x86_64-linux-gnu/
COPY --from=build /lib64/ld-linux-x86-64.so.2 /lib64/
# TLS to S3 endpoints, PLC and PDSes.
COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/
COPY --from=build /out/atcr /atcr
# Bun reads a CA bundle only from a few fixed places or this variable; scratch has none of the former.
ENV HOLD_DATABASE_PATH=/var/lib/atcr-hold \
    HOLD_SERVER_ADDR=:8080 \
    NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt
VOLUME ["/var/lib/atcr-hold"]
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=10s --start-period=10s --retries=3 \
  CMD ["/atcr", "healthcheck"]
ENTRYPOINT ["/atcr"]
CMD ["serve", "--role", "hold"]
