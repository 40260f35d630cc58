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
    # time_sleep: APIs and IAM grants take effect some seconds after the API call that makes them
    # returns; the provider's own examples wait for them this way (below, in apis.tf and iam.tf).
    time = {
      source  = "hashicorp/time"
      version = "~> 0.13"
    }
  }

  # State lives in a GCS bucket created once by deploy/bootstrap.sh (README: Deployment):
  # terraform init -backend-config="bucket=..."
  backend "gcs" {}
}

provider "google" {
  project = var.project_id
  region  = var.region
}
