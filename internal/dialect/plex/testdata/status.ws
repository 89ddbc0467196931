{"NotificationContainer":{"type":"status","size":1,"StatusNotification":[{"title":"Library scan complete","description":"Movies","notificationName":"LIBRARY_UPDATE"}]}}
