terraform {
  required_version = ">= 1.5.0"

  required_providers {
    google = {
      source  = "hashicorp/google"
      version = "~> 6.50"
    }
    archive = {
      source  = "hashicorp/archive"
      version = "~> 2.7"
    }
  }

  # State lives in a GCS bucket created once by hand (see README): terraform init -backend-config="bucket=..."
  backend "gcs" {}
}

provider "google" {
  project = var.project_id
  region  = var.region
}
