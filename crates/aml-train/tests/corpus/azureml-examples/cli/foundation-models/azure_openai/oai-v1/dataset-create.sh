#!/bin/bash

az ml data create -f ../dataset-create.yaml