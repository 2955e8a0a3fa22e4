//! The cloud's integration tests in one binary: the real cloud on loopback against real
//! clients (reqwest, ipptool, Microsoft's Python Graph SDK). Links the cloud and the vocabulary
//! crates only, never the devices or the rasterizer (the harness is `printlab-testkit`).

mod cloud_beta;
mod cloud_connections;
mod cloud_graph;
mod cloud_health;
mod cloud_pull;
mod cloud_registration;
mod cloud_tls;
mod conformance;
mod data_folder;
mod graph_subscriptions;
mod infra_client;
mod infra_ipptool;
mod infra_reference;
mod infra_service;
mod ipp_http;
mod ipp_interop;
mod oxps;
mod transport_faults;
mod upload_digest;
mod upload_engine;
mod upload_sdk;
mod upload_stall;
